// The pay page: the card is taken by the gateway's script (Stripe.js), never by the portal.
// The portal confirms with the card's id, the browser finishes 3-D Secure if asked, then
// the return page shows the real state as the portal learns it from the gateway.
(function () {
  "use strict";
  var root = document.getElementById("pay");
  if (!root || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(root.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var form = document.getElementById("pay-form");
  var button = document.getElementById("pay-button");
  var status = document.getElementById("pay-status");

  function fail() {
    status.textContent = root.dataset.msgError;
    button.disabled = false;
  }

  async function cardId() {
    // Stripe.js: a PaymentMethod; Stripe-compatible stand-ins may only make tokens.
    var made = await stripe.createPaymentMethod({ type: "card", card: card });
    if (made && made.paymentMethod) { return made.paymentMethod.id; }
    var token = await stripe.createToken(card);
    return token && token.token && token.token.card ? token.token.card.id : null;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = root.dataset.msgWorking;
    try {
      var method = await cardId();
      if (!method) { return fail(); }
      var response = await fetch(root.dataset.confirmUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": root.dataset.csrf },
        body: JSON.stringify({ payment_method: method })
      });
      var answer = await response.json();
      if (!response.ok) { return fail(); }
      if (answer.requires_action && answer.client_secret) {
        await stripe.confirmCardPayment(answer.client_secret);
      }
      window.location.assign(answer.return_url || root.dataset.returnUrl);
    } catch (error) {
      fail();
    }
  });
})();
