// The profile editor: add and remove criterion rows in place, and offer only the operators that
// fit the chosen field. Without this script the same buttons post the form and the server does it.
(() => {
  const form = document.getElementById("icp-form");
  if (!form) return;
  const allowed = JSON.parse(form.dataset.allowed || "{}");

  const changed = () => form.dispatchEvent(new Event("rows-changed"));

  const nextNumber = () => {
    let highest = -1;
    form.querySelectorAll("tr.criterion").forEach((row) => {
      const number = parseInt(row.dataset.number, 10);
      if (!Number.isNaN(number) && number > highest) highest = number;
    });
    return highest + 1;
  };

  const fitOperators = (fieldSelect, choose) => {
    const row = fieldSelect.closest("tr");
    const opSelect = row && row.querySelector("select.op-choice");
    const chosen = fieldSelect.selectedOptions[0];
    if (!opSelect || !chosen || !chosen.dataset.kind) return;
    const fits = allowed[chosen.dataset.kind] || [];
    if (choose && !fits.includes(opSelect.value) && fits.length) opSelect.value = fits[0];
    // A chosen operator stays enabled (a disabled choice would not be sent), even when it does not fit.
    for (const option of opSelect.options) option.disabled = !fits.includes(option.value) && !option.selected;
  };

  const addRow = (kind) => {
    const template = document.getElementById(`${kind}-template`);
    const body = document.querySelector(`#${kind}-rows tbody`);
    if (!template || !body) return;
    body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__n__", String(nextNumber())));
    const added = body.lastElementChild;
    const field = added && added.querySelector("select.field-choice");
    if (field) field.focus();
  };

  const removeRow = (button) => {
    const row = button.closest("tr.criterion");
    if (!row) return;
    const kind = row.dataset.kind;
    const errorRow = document.getElementById(`${row.id}-error-row`);
    if (errorRow) errorRow.remove();
    row.remove();
    const add = form.querySelector(`button.add-row[data-kind="${kind}"]`);
    if (add) add.focus();
  };

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("add-row")) {
      event.preventDefault();
      addRow(button.dataset.kind);
      changed();
    } else if (button.classList.contains("remove-row")) {
      event.preventDefault();
      removeRow(button);
      changed();
    }
  });

  form.addEventListener("change", (event) => {
    if (event.target.matches("select.field-choice")) fitOperators(event.target, true);
  });
  // On load the choices stay as they are (a refused one is shown with its error).
  form.querySelectorAll("select.field-choice").forEach((select) => fitOperators(select, false));
})();
