package web

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/layout"
)

// Widgets is a JSON array of widget objects, passed through as the client
// wrote it.
type Widgets json.RawMessage

// MarshalJSON writes the array as it is.
func (w Widgets) MarshalJSON() ([]byte, error) { return w, nil }

// Schema describes Widgets in the OpenAPI document.
func (Widgets) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: "array", Items: &huma.Schema{Type: "object", AdditionalProperties: true}, Description: "A JSON array of widget objects."}
}

// DashboardLayout is a user's dashboard layout.
type DashboardLayout struct {
	Desktop   Widgets    `json:"desktop"`
	Mobile    Widgets    `json:"mobile"`
	UpdatedAt *time.Time `json:"updated_at" doc:"Null until the first write."`
}

type layoutOutput struct {
	ETag string `header:"ETag" doc:"The layout's version; send it back in If-Match."`
	Body DashboardLayout
}

func layoutOf(l layout.Layout) *layoutOutput {
	out := &layoutOutput{ETag: etag(l.Version), Body: DashboardLayout{Desktop: Widgets(l.Desktop), Mobile: Widgets(l.Mobile)}}
	if !l.UpdatedAt.IsZero() {
		out.Body.UpdatedAt = &l.UpdatedAt
	}
	return out
}

func (s *Server) getLayout(ctx context.Context, _ *struct{}) (*layoutOutput, error) {
	l, err := s.layouts.Mine(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return layoutOf(l), nil
}

type putLayoutInput struct {
	IfMatch string `header:"If-Match" doc:"The ETag of the layout this write replaces (\"0\" before the first write); a stale one answers 412."`
	Body    struct {
		Desktop json.RawMessage `json:"desktop,omitempty" doc:"A JSON array of widget objects; [] when absent."`
		Mobile  json.RawMessage `json:"mobile,omitempty" doc:"A JSON array of widget objects; [] when absent."`
	}
}

// ifMatchVersion reads an If-Match header: -1 for none (or *), the version
// for "N", and stale for anything else, which can match no version.
func ifMatchVersion(h string, stale error) (int, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return -1, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 0 {
		return 0, stale
	}
	return v, nil
}

// etag is the entity tag of a version.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

func (s *Server) putLayout(ctx context.Context, in *putLayoutInput) (*layoutOutput, error) {
	return writeLayout(in.IfMatch, func(version int) (layout.Layout, error) {
		return s.layouts.Replace(ctx, userd.ActorFrom(ctx), in.Body.Desktop, in.Body.Mobile, version)
	})
}

type patchLayoutInput struct {
	IfMatch string `header:"If-Match" doc:"The ETag of the layout this write changes (\"0\" before the first write); a stale one answers 412. Without it, the patch applies to whatever is stored."`
	Body    struct {
		Desktop json.RawMessage `json:"desktop,omitempty" doc:"A JSON array of widget objects; absent keeps the stored one, null empties it."`
		Mobile  json.RawMessage `json:"mobile,omitempty" doc:"A JSON array of widget objects; absent keeps the stored one, null empties it."`
	}
}

func (s *Server) patchLayout(ctx context.Context, in *patchLayoutInput) (*layoutOutput, error) {
	return writeLayout(in.IfMatch, func(version int) (layout.Layout, error) {
		return s.layouts.Patch(ctx, userd.ActorFrom(ctx), in.Body.Desktop, in.Body.Mobile, version)
	})
}

// writeLayout makes a write of the layout over the version that the
// If-Match header ifMatch names.
func writeLayout(ifMatch string, write func(version int) (layout.Layout, error)) (*layoutOutput, error) {
	version, err := ifMatchVersion(ifMatch, layout.ErrStale)
	if err != nil {
		return nil, err
	}
	l, err := write(version)
	if err != nil {
		return nil, err
	}
	return layoutOf(l), nil
}
