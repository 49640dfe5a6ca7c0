// Deskpool browser console: noVNC (Debian's novnc package, served under /novnc/) on the
// gateway's WebSocket relay. The page carries the relay's address, a connect token bound to
// the user's session and desktop, and a one-time password for the desktop's display.
import RFB from "/novnc/core/rfb.js";

const screen = document.getElementById("screen");
const status = document.getElementById("console-status");
const data = screen.dataset;
const kiosk = data.kiosk === "1";

function say(text) { status.textContent = text; }

let host = data.relayHost || window.location.hostname;
if (host.includes(":") && !host.startsWith("[")) { host = "[" + host + "]"; }
const scheme = window.location.protocol === "https:" ? "wss" : "ws";
const url = scheme + "://" + host + ":" + data.relayPort + "/console?token=" + encodeURIComponent(data.token) +
  "&port=" + encodeURIComponent(data.port);

// Not shared: a console opened elsewhere in a browser is the earlier client, and is dropped.
const rfb = new RFB(screen, url, { credentials: { password: data.password }, shared: false });
delete data.password;
rfb.scaleViewport = true;   // the desktop fits the window, whatever its size
rfb.resizeSession = true;   // and follows it where the display supports resizing
rfb.focusOnClick = true;

let ended = false;
rfb.addEventListener("connect", () => {
  say("Connected");
  rfb.focus();
});
rfb.addEventListener("securityfailure", (event) => {
  say("The console refused this page (" + (event.detail.reason || "authentication failed") + "). Open the desktop again.");
});
rfb.addEventListener("credentialsrequired", () => {
  say("The console asked for a password again. Open the desktop again.");
  rfb.disconnect();
});
rfb.addEventListener("disconnect", (event) => {
  if (ended) { return; }
  ended = true;
  say(event.detail.clean ? "Disconnected." : "The connection to the desktop was lost.");
  document.body.classList.add("is-disconnected");
  if (kiosk) {
    // A thin client goes back to its login page: log out and start over.
    window.setTimeout(() => { HTMLFormElement.prototype.submit.call(document.getElementById("console-logout")); }, 1500);
  }
});

document.getElementById("console-cad").addEventListener("click", () => { rfb.sendCtrlAltDel(); rfb.focus(); });
document.getElementById("console-fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) { document.exitFullscreen(); } else { document.documentElement.requestFullscreen().catch(() => {}); }
  rfb.focus();
});
if (data.fullscreen === "1") {
  // Browsers allow full screen only after a user gesture: the first click on the page.
  document.addEventListener("click", () => {
    if (!document.fullscreenElement) { document.documentElement.requestFullscreen().catch(() => {}); }
  }, { once: true });
}
