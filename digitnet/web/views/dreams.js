if (!value) return `<div class="dn-explore-empty">Pick a network and press the button: it grows, from a blank
  image, the input it is most sure is each digit; a network that draws shows its own drawings.</div>`;
const block = (method, cells) => `<p class="dn-method">${made[method]}</p>
  <div class="dn-dreams" data-method="${method}">${cells.map(dreamCell).join("")}</div>`;
const grown = !value.grown ? "" : `<p class="dn-method"><b>The same network, asked by gradient ascent</b> (as the
  others are, not drawn by it): does its verdict notice?</p>
  <div class="dn-dreams" data-method="grown">${value.grown.map(dreamCell).join("")}</div>`;
return `<div class="dn-dream-view" data-model="${value.model}">${block(value.method, value.dreams)}${grown}</div>`;
