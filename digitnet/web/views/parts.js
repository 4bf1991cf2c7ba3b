const pct = (p) => `${Math.round(100 * p)}%`;
const chart = (a) => {
  const win = a ? a.digit : null, probs = a ? a.probabilities : Array(10).fill(0);
  const cols = probs.map((p, d) => `<div class="col"><div class="bar${d === win ? " winner" : ""}" data-digit="${d}"
    data-p="${p}" style="height:${(100 * p).toFixed(2)}%"><span class="pct">${a ? pct(p) : ""}</span></div></div>`);
  const digits = probs.map((p, d) => `<span class="${d === win ? "winner" : ""}">${d}</span>`);
  const grid = [50, 100].map((v) => `<div class="grid" style="bottom:${v}%">${v}%</div>`).join("");
  const words = a ? `The ten probabilities: ${say(a)}` : "No answer yet";
  return `<div class="dn-chart" role="img" aria-label="${words}">${grid}${cols.join("")}</div>
    <div class="dn-digits" aria-hidden="true">${digits.join("")}</div>`;
};
const pill = (a) => !a || !a.verdict ? "" : a.verdict.not_a_digit
  ? `<div class="dn-verdict not-digit">Probably not a digit</div>`
  : `<div class="dn-verdict is-digit">Looks like a digit</div>`;
const why = (a) => {
  if (!a || !a.verdict) return "";
  const v = a.verdict, items = a.scores.map(([w, s]) => `<li>${w}: ${s}</li>`).join("");
  const line = !v.words ? "" : `<div class="dn-why">Its ${v.words} is ${v.value};
    ${v.side} ${v.threshold} counts as not a digit.</div>`;
  return line + (items ? `<details class="dn-scores"><summary>All scores</summary><ul>${items}</ul></details>` : "");
};
const drawPrompt = `<div class="dn-head"><span class="prompt">__PROMPT__</span></div>`;
// A 28x28 image ("r,g,b" per pixel, row by row) as one <img>: a 24-bit BMP in a data: URL (one element, not 784).
const bmp = (rgb) => {
  const w = 28, row = 3 * w, size = 54 + row * w, b = new Uint8Array(size), v = new DataView(b.buffer);
  b[0] = 66; b[1] = 77; v.setUint32(2, size, true); v.setUint32(10, 54, true); v.setUint32(14, 40, true);
  v.setInt32(18, w, true); v.setInt32(22, w, true); v.setUint16(26, 1, true); v.setUint16(28, 24, true);
  v.setUint32(34, row * w, true);
  rgb.forEach((c, i) => {
    const [r, g, bl] = String(c).split(",").map(Number), o = 54 + (w - 1 - Math.floor(i / w)) * row + (i % w) * 3;
    b[o] = bl; b[o + 1] = g; b[o + 2] = r;  // rows bottom-up, blue first
  });
  let text = "";
  for (const x of b) text += String.fromCharCode(x);
  return `data:image/bmp;base64,${btoa(text)}`;
};
const grid = (rgb, cls = "") => `<div class="frame ${cls}"><img class="cells" alt="" src="${bmp(rgb)}"></div>`;
const grey = (levels) => levels.map((g) => `${g},${g},${g}`);
// One network's image of a digit (views.dreams' cells): the image, how sure the network is, its verdict; a drawn
// cell also shows the network's other drawings of that digit, a red frame where its verdict says "not a digit".
const sure = (c) => c >= 0.9999 ? "&ge;99.99" : (100 * c).toFixed(1);
const sample = (s) => `<figure class="dn-sample${s.verdict && s.verdict.not_a_digit ? " flagged" : ""}"
  data-digit="${s.digit}" data-confidence="${s.confidence}">${grid(grey(s.input), "tiny")}
  <figcaption>${Math.round(100 * s.confidence)}%</figcaption></figure>`;
const dreamCell = (d) => `<figure class="dn-dream" data-digit="${d.digit}" data-confidence="${d.confidence}">
  ${grid(grey(d.input), "small")}<figcaption><b>${d.digit}</b>: ${sure(d.confidence)}% sure
  ${pill({verdict: d.verdict})}</figcaption>${d.samples ? `<div class="dn-samples">${d.samples.map(sample)
  .join("")}</div>` : ""}</figure>`;
const made = {
  drawn: `Drawn by the model: for each digit its most typical drawing (its decoder at the centre of its style space),
    and below it drawings from random styles (seeded), each judged by the network itself.`,
  grown: `Grown by gradient ascent on the pixels, from a near-blank image: the input the network is most sure is
    each digit. The network cannot draw; this is what its answer rewards.`,
};
