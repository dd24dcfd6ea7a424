// Starts Swagger UI on the gateway's own OpenAPI document. A file, not an inline script, so
// the page's Content-Security-Policy can stay at script-src 'self'.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Every operation listed, folded: the page is the API's table of contents.
    docExpansion: "list",
    // No call to the public validator service: the machine may have no internet at all.
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
