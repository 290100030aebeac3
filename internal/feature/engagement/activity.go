package engagement

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// record writes what a user did with an item to their activity log, under
// their client profile (the entry goes with it, seed 001).
func record(ctx context.Context, tx *sqldb.Tx, userID, profileID string, c userd.Client, action, item string, meta map[string]any) error {
	return recordBy(ctx, tx, userd.Actor{UserID: userID}, userID, profileID, c, action, item, meta)
}

// recordBy is record for an action that by may have taken on another
// user's behalf (a moderator's): the entry is the user's and names by as
// its actor.
func recordBy(ctx context.Context, tx *sqldb.Tx, by userd.Actor, userID, profileID string, c userd.Client, action, item string, meta map[string]any) error {
	return audit.Record(ctx, tx, itemEvent(by, userID, profileID, c, action, item, meta))
}

// itemEvent is the activity log entry of recordBy.
func itemEvent(by userd.Actor, userID, profileID string, c userd.Client, action, item string, meta map[string]any) audit.Event {
	return audit.Event{UserID: userID, ActorUserID: by.UserID, APIKeyID: by.APIKeyID, ClientID: profileID,
		Action: action, TargetType: "item", TargetID: item, IP: c.IP, UserAgent: c.UserAgent, Metadata: meta}
}
