/**
 * zod/mini ships without message texts; load the English ones where errors reach a person
 * (definition files, corrupt state). Kept off the hot path of `nexus task`.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
