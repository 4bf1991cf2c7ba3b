// ESLint for the page's JavaScript (digitnet/web; `npm run lint`, run by scripts/test.sh). The files are not
// modules: Python joins them into the strings Gradio runs (digitnet/web/__init__.py), so the names one file
// takes from another, from Gradio or from a placeholder are declared here.
const js = require("@eslint/js");
const globals = require("globals");

const readonly = (...names) => Object.fromEntries(names.map((n) => [n, "readonly"]));
// Python's values (digitnet/web/__init__.py, fill) where a file holds one outside a string.
const placeholders = readonly("__CANVAS__", "__PEN__", "__MAX_POINTS__", "__GAP__", "__LATE__", "__PROMPT__",
  "__MAX_DATA__", "__MAX_STROKES__", "__UNIT__", "__LOW__", "__HIGH__", "__MIN_PEN__", "__MAX_PEN__");
// A file run as a function's body (Gradio's js_on_load; a view's template): it may return.
const body = { parserOptions: { ecmaFeatures: { globalReturn: true } } };
// A file whose names the next file uses: its top-level names are not "unused".
const shared = { "no-unused-vars": ["error", { vars: "local" }] };

module.exports = [
  js.configs.recommended,
  {
    files: ["digitnet/web/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { ...globals.browser, ...placeholders } },
  },
  { files: ["digitnet/web/say.js", "digitnet/web/share.js", "digitnet/web/views/parts.js"], rules: shared },
  { files: ["digitnet/web/views/parts.js"], languageOptions: { globals: readonly("say") } },
  {
    // The pad's script, run by Gradio's js_on_load after say.js and share.js (digitnet/pad.py).
    files: ["digitnet/web/pad.js"],
    languageOptions: {
      ...body,
      globals: readonly("element", "props", "server", "say", "encodeLink", "decodeLink"),
    },
  },
  {
    // A view's template, run in Gradio's template string after say.js and views/parts.js (digitnet/views.py).
    files: ["digitnet/web/views/*.js"],
    ignores: ["digitnet/web/views/parts.js"],
    languageOptions: {
      ...body,
      globals: readonly("value", "say", "pct", "chart", "pill", "why", "drawPrompt", "bmp", "grid", "grey", "sure",
        "sample", "dreamCell", "made"),
    },
  },
];
