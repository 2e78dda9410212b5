// Coffer's preview window. Served by Rust from memory to this window only;
// this window holds no IPC permission. The document is fetched once (its
// token is one-shot) and shown as text, an image, or PDF pages drawn by
// pdf.js with scripting and eval off. Nothing is stored.
const view = document.getElementById('view');
const status = document.getElementById('status');
const kind = document.body.dataset.kind;

async function content() {
  const r = await fetch('content', { cache: 'no-store' });
  if (!r.ok) throw new Error('This preview was already shown or has expired; open it again from Coffer.');
  return r;
}

async function showText() {
  const text = await (await content()).text();
  const pre = document.createElement('pre');
  pre.textContent = text; // text, never HTML
  view.replaceChildren(pre);
  document.body.dataset.chars = String(text.length);
  status.textContent = `${text.length} characters`;
}

async function showImage() {
  const blob = await (await content()).blob();
  const url = URL.createObjectURL(blob);
  const img = document.createElement('img');
  img.alt = 'The document';
  await new Promise((ok, fail) => {
    img.onload = ok;
    img.onerror = () => fail(new Error('The image could not be decoded.'));
    img.src = url;
  });
  URL.revokeObjectURL(url);
  view.replaceChildren(img);
  document.body.dataset.width = String(img.naturalWidth);
  document.body.dataset.height = String(img.naturalHeight);
  status.textContent = `${img.naturalWidth} × ${img.naturalHeight} pixels`;
}

async function showPdf() {
  const data = new Uint8Array(await (await content()).arrayBuffer());
  const pdfjs = await import('./pdf.mjs');
  pdfjs.GlobalWorkerOptions.workerSrc = new URL('pdf.worker.mjs', location.href).href;
  const doc = await pdfjs.getDocument({
    data,
    isEvalSupported: false,
    enableScripting: false,
    enableXfa: false,
    disableAutoFetch: true,
    disableStream: true,
    stopAtErrors: false,
  }).promise;
  document.body.dataset.pages = String(doc.numPages);
  status.textContent = `${doc.numPages} page${doc.numPages === 1 ? '' : 's'}`;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale: 1.5 });
    const canvas = document.createElement('canvas');
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.setAttribute('aria-label', `Page ${n}`);
    view.append(canvas);
    await page.render({ canvas, canvasContext: canvas.getContext('2d'), viewport }).promise;
  }
  document.body.dataset.rendered = String(doc.numPages);
}

const show = { text: showText, image: showImage, pdf: showPdf }[kind];
(show ? show() : Promise.reject(new Error('No preview for this type.')))
  .then(() => { document.body.dataset.ready = 'yes'; })
  .catch((e) => {
    status.textContent = e.message;
    document.body.dataset.ready = 'failed';
  });
