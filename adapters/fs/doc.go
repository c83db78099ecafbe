// Package fs keeps attachments' files in a directory of the local
// filesystem, for the embedded default and single-machine installs. Its
// upload and download URLs point at the messenger's own server, which
// serves them with Store.Handler; they are signed with HMAC-SHA256 and stop
// working at their expiry. Several nodes may share it only through a
// shared directory and the same Secret.
package fs
