if (!value || !value.length) return `<div class="dn-explore-empty">Press the button: every network's picture of
  every digit appears here, side by side, each judged by the network that made it.</div>`;
const how = {drawn: "drawn by the model", grown: "grown by gradient ascent on its input"};
const row = (n) => `<div class="dn-exhibit-row" data-model="${n.model}" data-method="${n.method}">
  <div class="dn-title">${n.label}: ${how[n.method]}</div>
  <div class="dn-dreams">${n.dreams.map((d) => dreamCell({...d, samples: null})).join("")}</div></div>`;
return `<div class="dn-exhibit">${value.map(row).join("")}</div>`;
