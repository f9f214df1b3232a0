// Draws an experiment's chart. The Vega-Lite specification travels in the page as JSON
// (<script type="application/json">), never as inline script; `ast: true` makes vega evaluate its
// expressions with its interpreter instead of Function(), so the page's CSP needs no 'unsafe-eval'.
(() => {
  const options = {
    ast: true,
    actions: false,
    renderer: "svg",
    defaultStyle: false, // vega-embed's own <style> would break the CSP; experiments.css styles it
    tooltip: { disableDefaultStyle: true },
  };
  for (const holder of document.querySelectorAll("[data-chart-spec]")) {
    const source = document.getElementById(holder.dataset.chartSpec);
    if (!source || typeof vegaEmbed !== "function") {
      continue;
    }
    const spec = JSON.parse(source.textContent);
    vegaEmbed(holder, spec, options)
      .then(() => {
        holder.dataset.rendered = "true";
      })
      .catch((error) => {
        holder.dataset.rendered = "failed";
        holder.textContent = `The chart could not be drawn: ${error.message}`;
      });
  }
})();
