/** The served board's confirmation: a modal <dialog> (a VS Code webview uses the host's modal). */
import '@vscode-elements/elements/dist/vscode-button/index.js';

export function confirmDialog(question: string, confirmLabel: string): Promise<boolean> {
  const dialog = document.createElement('dialog');
  dialog.className = 'confirm';
  dialog.setAttribute('aria-label', 'Confirm');
  const text = document.createElement('p');
  text.textContent = question;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const no = document.createElement('vscode-button');
  no.setAttribute('secondary', '');
  no.className = 'no';
  no.textContent = 'Keep it';
  const yes = document.createElement('vscode-button');
  yes.className = 'yes';
  yes.textContent = confirmLabel;
  actions.append(no, yes);
  dialog.append(text, actions);
  document.body.append(dialog);
  return new Promise((resolve) => {
    const done = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    // Escape cancels the dialog: that is a "no".
    dialog.addEventListener('cancel', () => done(false));
    dialog.showModal();
  });
}
