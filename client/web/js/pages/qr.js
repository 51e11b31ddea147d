// QR codes drawn on a canvas (the recipient link, a box's deposit link,
// activation sheets). The vendored encoder gives the modules; this draws
// them black on white with the standard's quiet zone of 4 modules.

import qrcode from "../../vendor/qrcode.mjs";

const QR_MARGIN = 4;

// Draw `text` on `canvas`, `cell` pixels per module (error correction M).
export function drawQr(canvas, text, { cell = 4 } = {}) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const modules = code.getModuleCount();
  const size = (modules + 2 * QR_MARGIN) * cell;
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, size, size);
  context.fillStyle = "#000000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) {
        context.fillRect((col + QR_MARGIN) * cell, (row + QR_MARGIN) * cell, cell, cell);
      }
    }
  }
}
