const a = value;
const head = !a ? drawPrompt : `<div class="dn-head" data-model="${a.model}">
  <span class="digit" data-digit="${a.digit}">${a.digit}</span>
  <span class="conf">${(100 * a.confidence).toFixed(1)}% sure</span>${pill(a)}</div>`;
// On the Draw tab the readout under the pad shows the headline and the bars: page.css hides .dn-full there.
return `<div class="dn-answer" data-model="${a ? a.model : ""}" data-digit="${a ? a.digit : ""}">
  <div class="dn-full"><div id="headline">${head}</div><div id="chart">${chart(a)}</div></div>${why(a)}</div>`;
