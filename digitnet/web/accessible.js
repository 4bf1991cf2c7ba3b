() => {
  const words = (src) => decodeURIComponent(src.split("/").pop().split("?")[0]).replace(/\.png$/, "")
    .replace(/^digit_(\d)_mnist_test_\d+$/, "a handwritten $1 from the MNIST test set")
    .replace(/^not_digit_/, "not a digit: ").replace(/_/g, " ");
  const name = () => {
    for (const b of document.querySelectorAll("button.gallery-item:not([aria-label])")) {
      const img = b.querySelector("img");
      if (img && img.getAttribute("src")) b.setAttribute("aria-label", "Example: " + words(img.getAttribute("src")));
    }
    for (const img of document.querySelectorAll("footer img[alt]")) img.setAttribute("alt", "");
  };
  name();
  new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
}
