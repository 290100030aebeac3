package userd

// Keys that a transaction passes to sqldb's Tx.Invalidate when it changes
// what processes keep in memory about who a request acts as.

// UserKey names a user: their row, their roles and all their sessions.
func UserKey(id string) string { return "u:" + id }

// SessionKey names one session.
func SessionKey(id string) string { return "s:" + id }

// EveryKey names everything: a role's permissions changed, which may touch
// any user.
const EveryKey = "*"
