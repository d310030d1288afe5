// Everything here is the public JSON API; nothing is rendered with innerHTML, so a
// hostile URL or error message can never become markup.
const $ = (id) => document.getElementById(id);
let code = null;
$("shorten").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  const response = await fetch("/shorten", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ url: $("url").value }),
  });
  const body = await response.json();
  if (!response.ok) {
    const details = body.errors ? Object.entries(body.errors).map(([k, v]) => `${k} ${v.join(", ")}`).join("; ") : "";
    $("error").textContent = details || body.message;
    return;
  }
  code = body.shortCode;
  // The secret that proves we made this anonymous link (X-Manage-Token): shown, never stored.
  $("manage").textContent = body.manageToken || "";
  $("manage-row").hidden = !body.manageToken;
  $("short").textContent = `${location.origin}/${code}`;
  $("qr").src = `/shorten/${encodeURIComponent(code)}/qr?format=svg&size=200`;
  $("stats").href = `/shorten/${encodeURIComponent(code)}/stats`;
  $("visits").textContent = "0";
  $("result").style.display = "block";
});
$("copy").addEventListener("click", async () => {
  await navigator.clipboard.writeText($("short").textContent);
  $("copy").textContent = "Copied";
  setTimeout(() => ($("copy").textContent = "Copy"), 1500);
});
setInterval(async () => {
  if (!code) return;
  const response = await fetch(`/shorten/${encodeURIComponent(code)}/stats`);
  if (response.ok) $("visits").textContent = (await response.json()).accessCount;
}, 3000);
