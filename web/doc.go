// Package web serves Hearth's browser side: the console (server-rendered
// html/template pages and a little plain JavaScript, all embedded) on the
// control plane's port, and the UI gateway, an authenticated reverse proxy
// to each cluster's Spark UIs under /clusters/<id>/ui/ (hs/, jupyter/), on
// a port and origin of its own so that proxied pages cannot act as the
// console.
//
// Every route is in a table with the credential it requires (Routes,
// GatewayRoutes), like the API's; Handler composes the console's and the
// API's into one router, GatewayHandler serves the gateway's. Browsers
// authenticate with a session cookie obtained by logging in with the admin
// token or an access key; every state-changing form carries the session's
// CSRF token. The gateway has its own cookie, which the console grants
// (a signed, single-use grant in a redirect); API clients may reach the
// gateway with the same credentials the API takes.
package web
