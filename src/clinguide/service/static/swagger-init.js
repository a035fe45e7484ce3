// Starts the vendored Swagger UI on /docs (an external file: the page's CSP allows no inline script).
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never send the schema to swagger.io's validator
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
