// The call queue from the keyboard: j/k (or the arrows) select a lead, o or Enter opens its call
// panel, 1–6 pick the outcome, n goes to the note, Ctrl+Enter (or s) logs the call, Esc closes.
// Without this script every lead's "Log call" link opens its panel on the server.
(() => {
  "use strict";
  const list = document.getElementById("queue");
  if (!list) {
    return;
  }
  const leads = () => Array.from(list.querySelectorAll("li.lead"));
  const TYPING = "textarea, select, input:not([type=radio]):not([type=checkbox]):not([type=hidden])";

  function selectedIndex() {
    const found = leads().findIndex((lead) => lead.classList.contains("selected"));
    return found < 0 ? 0 : found;
  }

  function select(index, focus = true) {
    const all = leads();
    if (!all.length) {
      return null;
    }
    const chosen = all[Math.max(0, Math.min(index, all.length - 1))];
    for (const lead of all) {
      const on = lead === chosen;
      lead.classList.toggle("selected", on);
      if (on) {
        lead.setAttribute("aria-current", "true");
      } else {
        lead.removeAttribute("aria-current");
      }
    }
    if (focus) {
      chosen.focus({ preventScroll: true });
      chosen.scrollIntoView({ block: "nearest" });
    }
    return chosen;
  }

  function openPanel() {
    return list.querySelector(".call-panel:not([hidden])");
  }

  function closePanel() {
    const panel = openPanel();
    if (panel) {
      panel.hidden = true;
      select(leads().indexOf(panel.closest("li.lead")));
    }
  }

  function showPanel(lead) {
    closePanel();
    const panel = lead.querySelector(".call-panel");
    panel.hidden = false;
    select(leads().indexOf(lead), false);
    panel.querySelector("fieldset.outcomes").focus();
    panel.scrollIntoView({ block: "nearest" });
  }

  // Reason and revisit date are required for the outcomes that need them.
  function outcomeChanged(form) {
    const chosen = form.querySelector("input[name=outcome]:checked");
    const value = chosen ? chosen.value : "";
    const reason = form.querySelector("input[name=reason]");
    const revisit = form.querySelector("input[name=revisit_on]");
    reason.required = value === "not_a_fit";
    revisit.required = value === "not_now";
    if (value === "not_a_fit") {
      reason.focus();
    } else if (value === "not_now") {
      revisit.focus();
    }
  }

  function submit(panel) {
    const form = panel.querySelector("form");
    if (!form.querySelector("input[name=outcome]:checked")) {
      panel.querySelector("fieldset.outcomes").focus();
      return;
    }
    form.requestSubmit();
  }

  list.addEventListener("change", (event) => {
    if (event.target.name === "outcome") {
      outcomeChanged(event.target.form);
    }
  });

  list.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-call]");
    const closer = event.target.closest("[data-close-call]");
    if (opener) {
      event.preventDefault();
      showPanel(opener.closest("li.lead"));
    } else if (closer) {
      event.preventDefault();
      closePanel();
    } else if (!event.target.closest("a, button, input, textarea, select, label")) {
      select(leads().indexOf(event.target.closest("li.lead")), false);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.metaKey) {
      return;
    }
    const panel = openPanel();
    if (event.key === "Escape") {
      if (panel) {
        event.preventDefault();
        closePanel();
      }
      return;
    }
    if (event.key === "Enter" && event.ctrlKey) {
      if (panel) {
        event.preventDefault();
        submit(panel);
      }
      return;
    }
    const target = event.target;
    if (event.ctrlKey || (target instanceof Element && target.closest(TYPING))) {
      return; // letters typed into a field stay there
    }
    if (panel) {
      if (/^[1-6]$/.test(event.key)) {
        const choice = panel.querySelectorAll("input[name=outcome]")[Number(event.key) - 1];
        event.preventDefault();
        choice.checked = true;
        choice.dispatchEvent(new Event("change", { bubbles: true }));
      } else if (event.key === "n") {
        event.preventDefault();
        panel.querySelector("textarea[name=note]").focus();
      } else if (event.key === "s") {
        event.preventDefault();
        submit(panel);
      }
      return;
    }
    const onControl = target instanceof Element && target.closest("a, button, select");
    if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault();
      select(selectedIndex() + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault();
      select(selectedIndex() - 1);
    } else if (event.key === "o" || (event.key === "Enter" && !onControl)) {
      const lead = leads()[selectedIndex()];
      if (lead) {
        event.preventDefault();
        showPanel(lead);
      }
    }
  });

  // The server may have opened a panel (a refused form, or ?open=): focus it; else the selected lead.
  const opened = openPanel();
  if (opened) {
    const form = opened.querySelector("form");
    const invalid = form.querySelector("[aria-invalid=true]");
    (invalid || opened.querySelector("fieldset.outcomes")).focus();
    opened.scrollIntoView({ block: "nearest" });
  } else {
    select(selectedIndex());
  }
  list.dataset.keys = "ready"; // the keys work from here on (tests wait for it)
})();
