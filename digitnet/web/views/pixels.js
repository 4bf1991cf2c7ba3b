if (!value) return `<div class="dn-pixels"><span class="prompt">Nothing drawn yet.</span></div>`;
const figure = (cls, rgb, caption) => `<figure class="${cls}">${grid(rgb)}<figcaption>${caption}</figcaption></figure>`;
let figures = figure("seen", grey(value.input), "The 28x28 input, as MNIST digits look");
if (value.saliency) {
  const hue = value.saliency.map((s, i) => {
    const k = Math.abs(s) / 100, base = 0.35 * value.input[i], c = s >= 0 ? [255, 38, 26] : [38, 115, 255];
    return c.map((x) => Math.round(base * (1 - k) + x * k)).join(",");
  });
  figures += figure("saliency", hue, "Saliency: red pixels pushed the network toward its answer, blue ones away");
}
return `<div class="dn-pixels">${figures}</div>`;
