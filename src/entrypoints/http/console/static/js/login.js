// Login: POST /api/login sets the HttpOnly session cookie and the CSRF cookie; then back to
// the page the operator asked for (console pages only).
import { $, api, errorText, show } from "./common.js";

function nextPage() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  return next.startsWith("/admin") && !next.startsWith("/admin/login") ? next : "/admin";
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#login-error");
  show(error, "");
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await api("/api/login", {
      method: "POST",
      json: { username: $("#username").value, password: $("#password").value },
    });
    window.location.assign(nextPage());
  } catch (failure) {
    const wrong = failure.code === "invalid_credentials";
    show(error, wrong ? "Wrong username or password." : errorText(failure));
    button.disabled = false;
  }
});
