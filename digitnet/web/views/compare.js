if (!value || !value.length) return drawPrompt;
const cell = (a) => `<div class="dn-model" data-model="${a.model}">
  <div class="dn-title">${a.label}: ${a.digit} (${pct(a.confidence)})</div>${chart(a)}${pill(a)}${why(a)}</div>`;
return `<div class="dn-compare">${value.map(cell).join("")}</div>`;
