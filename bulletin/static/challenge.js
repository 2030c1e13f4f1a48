// The sign-up's proof of work (the ALTCHA protocol), for /embed/subscribe and for the form
// partners paste into their pages. Each form[data-bulletin-challenge] fetches a challenge
// from that URL (no cookies), finds the number whose SHA-256 with the salt matches while
// the reader fills the form, and puts the answer in its hidden "altcha" field. A form sent
// before that waits for it. If anything fails the form is sent anyway: our page then
// explains and asks again (or offers the ordinary sign-up page when scripts cannot run).
(function () {
  "use strict";

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  async function solve(challenge) {
    var encoder = new TextEncoder();
    for (var number = 0; number <= challenge.maxnumber; number += 1) {
      var digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + number));
      if (hex(digest) === challenge.challenge) {
        return number;
      }
    }
    throw new Error("no solution");
  }

  function answer(challenge, number) {
    return btoa(JSON.stringify({
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number: number,
      salt: challenge.salt,
      signature: challenge.signature
    }));
  }

  function prepare(form) {
    var field = form.querySelector("input[name='altcha']");
    var status = form.querySelector("[data-bulletin-status]");
    if (!field || !window.fetch || !window.crypto || !window.crypto.subtle) {
      return;
    }
    var ready = fetch(form.getAttribute("data-bulletin-challenge"), {
      credentials: "omit", cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("no challenge"); }
      return response.json();
    }).then(function (challenge) {
      return solve(challenge).then(function (number) {
        field.value = answer(challenge, number);
        form.setAttribute("data-bulletin-solved", "");
      });
    }).catch(function () { return null; });
    var sending = false;
    form.addEventListener("submit", function (event) {
      if (field.value) { return; }
      event.preventDefault();
      if (sending) { return; }
      sending = true;
      if (status) { status.textContent = form.getAttribute("data-bulletin-wait") || ""; }
      ready.then(function () { form.submit(); });
    });
  }

  document.querySelectorAll("form[data-bulletin-challenge]").forEach(prepare);
})();
