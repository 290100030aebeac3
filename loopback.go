package userd

import (
	"net"
	"strings"
)

// Loopback reports whether host (a name or an address, without a port) is
// this machine: localhost, 127.0.0.0/8 or ::1. Settings that would carry
// secrets in the clear (SMTP without TLS, webhooks over http, the profiles'
// address) allow it and nothing else.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
