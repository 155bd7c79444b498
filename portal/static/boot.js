// Starts the portal. A separate file (not an inline script) because the
// gateway's CSP is `script-src 'self' 'wasm-unsafe-eval'`.
import init from '/admin/portal.js';

init({ module_or_path: '/admin/portal_bg.wasm' }).catch((err) => {
  console.error(err);
  const p = document.createElement('p');
  p.className = 'boot-error';
  p.setAttribute('role', 'alert');
  p.textContent = 'The admin portal could not start (' + err +
    '). Reload the page; if it keeps happening, tell support the code "portal_boot_failed".';
  document.body.append(p);
});
