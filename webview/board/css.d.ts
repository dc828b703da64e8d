// esbuild loads `.css` as text (see esbuild.mjs); the board adopts it as a constructed sheet.
declare module '*.css' {
  const text: string;
  export default text;
}
