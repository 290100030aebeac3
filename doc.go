// Package userd is the root vocabulary of the userd identity and user-data
// service: the error type and its kinds, identifiers, and the actor that a
// request acts as. It depends on the standard library only and does no I/O.
package userd
