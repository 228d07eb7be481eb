// Package web serves Hearth's browser side on the control plane's port: the
// console (server-rendered html/template pages and a little plain
// JavaScript, all embedded) and the UI gateway, an authenticated reverse
// proxy to each cluster's Spark UIs under /clusters/<id>/ui/.
//
// Every route is in one table with the credential it requires (Routes), like
// the API's; Handler composes both tables into the server's one router.
// Browsers authenticate with a session cookie obtained by logging in with
// the admin token or an access key; every state-changing form carries the
// session's CSRF token. API clients may reach the gateway with the same
// credentials the API takes.
package web
