/**
 * The served board's questions: a modal <dialog> to confirm, and one to write a message
 * (a VS Code webview uses the host's modal and input box instead).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';

interface Modal {
  dialog: HTMLDialogElement;
  no: HTMLElement;
  yes: HTMLElement;
  /** Closes and removes the dialog. */
  close(): void;
}

/** A modal with the question, what goes between, and "no" / "yes" buttons; shown at once. */
function modal(
  className: string,
  label: string,
  question: string,
  body: readonly HTMLElement[],
  noLabel: string,
  yesLabel: string,
): Modal {
  const dialog = document.createElement('dialog');
  dialog.className = className;
  dialog.setAttribute('aria-label', label);
  const text = document.createElement('p');
  text.textContent = question;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const no = document.createElement('vscode-button');
  no.setAttribute('secondary', '');
  no.className = 'no';
  no.textContent = noLabel;
  const yes = document.createElement('vscode-button');
  yes.className = 'yes';
  yes.textContent = yesLabel;
  actions.append(no, yes);
  dialog.append(text, ...body, actions);
  document.body.append(dialog);
  dialog.showModal();
  return {
    dialog,
    no,
    yes,
    close: () => {
      dialog.close();
      dialog.remove();
    },
  };
}

export function confirmDialog(question: string, confirmLabel: string): Promise<boolean> {
  const m = modal('confirm', 'Confirm', question, [], 'Keep it', confirmLabel);
  return new Promise((resolve) => {
    const done = (answer: boolean): void => {
      m.close();
      resolve(answer);
    };
    m.yes.addEventListener('click', () => done(true));
    m.no.addEventListener('click', () => done(false));
    // Escape cancels the dialog: that is a "no".
    m.dialog.addEventListener('cancel', () => done(false));
  });
}

/** Asks for a message; resolves its text on the confirm button, undefined on Cancel or Escape. */
export function promptDialog(question: string, confirmLabel: string): Promise<string | undefined> {
  const input = document.createElement('vscode-textarea') as HTMLElement & { value: string };
  input.className = 'text';
  input.setAttribute('rows', '4');
  input.setAttribute('aria-label', 'Message');
  const error = document.createElement('p');
  error.className = 'error';
  error.hidden = true;
  const m = modal('confirm prompt', question, question, [input, error], 'Cancel', confirmLabel);
  input.focus();
  return new Promise((resolve) => {
    const done = (answer: string | undefined): void => {
      m.close();
      resolve(answer);
    };
    m.yes.addEventListener('click', () => {
      if (input.value.trim()) done(input.value);
      else {
        error.textContent = 'A message needs text.';
        error.hidden = false;
      }
    });
    m.no.addEventListener('click', () => done(undefined));
    m.dialog.addEventListener('cancel', () => done(undefined));
  });
}
