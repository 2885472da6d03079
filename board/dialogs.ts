/**
 * A modal form for the board's actions (ack, silence, sign-in): a native <dialog>, so focus is trapped
 * and Escape cancels without code of ours; errors from the API are shown in it, and it stays open.
 */
import { ApiError } from './api.js';
import { formText, h } from './dom.js';

export interface Field {
  name: string;
  label: string;
  kind: 'textarea' | 'select' | 'password' | 'checkbox';
  required?: boolean;
  options?: [string, string][];
}

export interface ActionSpec {
  title: string;
  body?: Node[];
  fields: Field[];
  confirm: string;
  /** No cancel button (sign-in: there is nothing behind it to go back to). */
  mandatory?: boolean;
  run(values: Record<string, string | undefined>): Promise<void>;
}

export function actionDialog(spec: ActionSpec): HTMLDialogElement {
  const error = h('p', { class: 'error', role: 'alert' });
  const inputs = spec.fields.map((f) => {
    const id = `field-${f.name}`;
    const input =
      f.kind === 'textarea'
        ? h('textarea', { id, name: f.name, rows: 3, required: f.required })
        : f.kind === 'select'
          ? h(
              'select',
              { id, name: f.name },
              (f.options ?? []).map(([v, t]) => h('option', { value: v }, t)),
            )
          : h('input', {
              id,
              name: f.name,
              type: f.kind,
              required: f.required,
              autocomplete: f.kind === 'password' ? 'off' : undefined,
              spellcheck: 'false',
            });
    return f.kind === 'checkbox'
      ? h('p', { class: 'check' }, input, ' ', h('label', { for: id }, f.label))
      : h('p', {}, h('label', { for: id }, f.label), h('br'), input);
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, spec.confirm);
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', {}, spec.title),
    spec.body ?? [],
    inputs,
    error,
    h(
      'p',
      { class: 'buttons' },
      spec.mandatory ? '' : h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close() }, 'Cancel'),
      ' ',
      submit,
    ),
  );
  const dialog = h('dialog', { class: 'action', 'aria-label': spec.title }, form);
  if (spec.mandatory) dialog.addEventListener('cancel', (e) => e.preventDefault());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const values: Record<string, string | undefined> = {};
    for (const f of spec.fields)
      values[f.name] = f.kind === 'checkbox' ? (data.get(f.name) ? 'on' : undefined) : formText(data, f.name);
    submit.disabled = true;
    error.textContent = '';
    spec
      .run(values)
      .then(() => dialog.close())
      .catch((err: unknown) => {
        error.textContent =
          err instanceof ApiError ? [err.message, ...err.problems].join(': ') : `failed: ${(err as Error).message}`;
      })
      .finally(() => (submit.disabled = false));
  });
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector<HTMLElement>('textarea, input, select')?.focus();
  return dialog;
}
