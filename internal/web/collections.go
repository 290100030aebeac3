package web

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
)

// CollectionRelation says that a field holds the id of a record of another
// collection with the same owner.
type CollectionRelation struct {
	Collection string `json:"collection" doc:"The collection of the record the field names."`
	OnDelete   string `json:"on_delete" enum:"cascade,set_null,restrict" doc:"What deleting that record does to the records that point at it: delete them, remove the field, or refuse (409 restricted)."`
}

// CollectionDeclaration is what an operator declares of a collection.
type CollectionDeclaration struct {
	Owner              string                        `json:"owner" enum:"user,organization" doc:"Whose records: a user's (under /v1/me) or an organisation's (under /v1/orgs/{org_id}). Fixed once declared."`
	Schema             map[string]any                `json:"schema" doc:"A JSON Schema (draft 2020-12) of a record's data, of type object; no references outside it."`
	Unique             [][]string                    `json:"unique,omitempty" doc:"Keys whose values no two records of one owner share; each 1 to 4 top-level properties of type string, integer, number or boolean."`
	Indexes            [][]string                    `json:"indexes,omitempty" doc:"Indexes for filters and sorting; fields as for unique."`
	Relations          map[string]CollectionRelation `json:"relations,omitempty" doc:"By field (a string property): the collection its value names a record of."`
	MaxRecordsPerOwner int                           `json:"max_records_per_owner,omitempty" minimum:"0" doc:"How many records one owner may have (409 record_limit); 0 for no bound."`
	MembersWrite       bool                          `json:"members_write,omitempty" doc:"For an organisation's collection: every member writes, not only admins and owners."`
	Webhooks           bool                          `json:"webhooks,omitempty" doc:"Every creation, change and deletion of a record is a webhook event (collection.record.created, .updated, .deleted) carrying the record's data."`
}

// Collection is a declared collection.
type Collection struct {
	Name string `json:"name"`
	CollectionDeclaration
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func declarationOf(d CollectionDeclaration) collection.Declaration {
	rels := map[string]collection.Relation{}
	for f, r := range d.Relations {
		rels[f] = collection.Relation(r)
	}
	return collection.Declaration{Owner: d.Owner, Schema: d.Schema, Unique: d.Unique, Indexes: d.Indexes, Relations: rels,
		MaxRecordsPerOwner: d.MaxRecordsPerOwner, MembersWrite: d.MembersWrite, Webhooks: d.Webhooks}
}

func collectionOf(c collection.Collection) Collection {
	d := c.Declaration
	rels := map[string]CollectionRelation{}
	for f, r := range d.Relations {
		rels[f] = CollectionRelation(r)
	}
	return Collection{Name: c.Name, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CollectionDeclaration: CollectionDeclaration{Owner: d.Owner, Schema: d.Schema,
		Unique: d.Unique, Indexes: d.Indexes, Relations: rels, MaxRecordsPerOwner: d.MaxRecordsPerOwner, MembersWrite: d.MembersWrite, Webhooks: d.Webhooks}}
}

type collectionsOutput struct {
	Body struct {
		Collections []Collection `json:"collections"`
	}
}

func (s *Server) listCollections(ctx context.Context, _ *struct{}) (*collectionsOutput, error) {
	cs, err := s.collections.Collections(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &collectionsOutput{}
	out.Body.Collections = mapAll(cs, collectionOf)
	return out, nil
}

type putCollectionInput struct {
	Name string `path:"name" doc:"1 to 63 lower-case letters, digits and underscores, starting with a letter; not one of userd's tables."`
	Body CollectionDeclaration
}

type collectionOutput struct {
	Body struct {
		Collection
		Created bool `json:"created" doc:"Whether this declared it first."`
		Changed bool `json:"changed" doc:"Whether this changed its declaration (false when it was the same)."`
	}
}

func (s *Server) putCollection(ctx context.Context, in *putCollectionInput) (*collectionOutput, error) {
	a, err := s.collections.Declare(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Name, declarationOf(in.Body))
	if err != nil {
		return nil, err
	}
	out := &collectionOutput{}
	out.Body.Collection, out.Body.Created, out.Body.Changed = collectionOf(a.Collection), a.Created, a.Changed
	return out, nil
}

type deleteCollectionInput struct {
	Name  string `path:"name"`
	Force bool   `query:"force" doc:"Delete the collection's records too; without it, a collection with records answers 409 collection_not_empty."`
}

func (s *Server) deleteCollection(ctx context.Context, in *deleteCollectionInput) (*struct{}, error) {
	return nil, s.collections.Drop(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Name, in.Force)
}

// CollectionRecord is one record of a collection.
type CollectionRecord struct {
	ID        string          `json:"id"`
	Data      json.RawMessage `json:"data" doc:"The record's JSON object, as the collection's schema describes it."`
	Version   int             `json:"version" doc:"Moves on with each write; the ETag."`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func recordOf(r collection.Record) CollectionRecord {
	return CollectionRecord{ID: r.ID, Data: r.Data, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// RecordsPath names a collection, and the organisation for an
// organisation's records.
type RecordsPath struct {
	OrgID string `path:"org_id" doc:"The organisation (404 organization_not_found for one the caller is not a member of)."`
	Name  string `path:"name" doc:"The collection."`
}

// MyRecordsPath names a collection of the caller's records.
type MyRecordsPath struct {
	Name string `path:"name" doc:"The collection."`
}

type RecordsQuery struct {
	Paging
	Where []string `query:"where,explode" doc:"FIELD:OP:VALUE, OP one of eq, ne, gt, gte, lt, lte, on a field that a unique key, an index or a relation names; repeatable (all must hold), at most 8 times (422 too_many_filters)."`
	Sort  string   `query:"sort" doc:"FIELD or -FIELD (descending) of those fields, listing the records that have it; newest first when absent."`
}

type recordsOutput struct {
	Body struct {
		Items      []CollectionRecord `json:"items"`
		NextCursor *string            `json:"next_cursor"`
	}
}

func (s *Server) records(ctx context.Context, orgID, name string, in RecordsQuery) (*recordsOutput, error) {
	return recordsOf(s.collections.Records(ctx, userd.ActorFrom(ctx), orgID, name, in.query()))
}

// query is the collection's query of a list's parameters.
func (in RecordsQuery) query() collection.Query {
	return collection.Query{Where: in.Where, Sort: in.Sort, Cursor: in.Cursor, Limit: in.Limit}
}

func recordsOf(p collection.Page, err error) (*recordsOutput, error) {
	if err != nil {
		return nil, err
	}
	out := &recordsOutput{}
	out.Body.Items = mapAll(p.Records, recordOf)
	out.Body.NextCursor = optional(p.Next)
	return out, nil
}

type adminRecordsInput struct {
	MyRecordsPath
	Owner string `query:"owner" required:"true" doc:"Whose records: a user's id (or the legacy id they were imported with) for a collection of users, an organisation's id for one of organisations (404 owner_not_found for what is neither)."`
	RecordsQuery
}

func (s *Server) adminRecords(ctx context.Context, in *adminRecordsInput) (*recordsOutput, error) {
	return recordsOf(s.collections.RecordsOf(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Name, s.ownerID(ctx, in.Owner), in.query()))
}

type myRecordsInput struct {
	MyRecordsPath
	RecordsQuery
}

func (s *Server) myRecords(ctx context.Context, in *myRecordsInput) (*recordsOutput, error) {
	return s.records(ctx, "", in.Name, in.RecordsQuery)
}

type orgRecordsInput struct {
	RecordsPath
	RecordsQuery
}

func (s *Server) orgRecords(ctx context.Context, in *orgRecordsInput) (*recordsOutput, error) {
	return s.records(ctx, in.OrgID, in.Name, in.RecordsQuery)
}

type recordOutput struct {
	ETag string `header:"ETag" doc:"The record's version; send it back in If-Match."`
	Body CollectionRecord
}

func recordOutputOf(r collection.Record, err error) (*recordOutput, error) {
	if err != nil {
		return nil, err
	}
	return &recordOutput{ETag: etag(r.Version), Body: recordOf(r)}, nil
}

// recordBody is the body of POST and PUT.
type recordBody struct {
	Data json.RawMessage `json:"data" doc:"The record's JSON object (64 KiB at most unless the operator says otherwise)."`
}

type createMyRecordInput struct {
	MyRecordsPath
	Body recordBody
}

func (s *Server) createMyRecord(ctx context.Context, in *createMyRecordInput) (*recordOutput, error) {
	return recordOutputOf(s.collections.Create(ctx, userd.ActorFrom(ctx), "", in.Name, in.Body.Data))
}

type createOrgRecordInput struct {
	RecordsPath
	Body recordBody
}

func (s *Server) createOrgRecord(ctx context.Context, in *createOrgRecordInput) (*recordOutput, error) {
	return recordOutputOf(s.collections.Create(ctx, userd.ActorFrom(ctx), in.OrgID, in.Name, in.Body.Data))
}

// RecordID names one record.
type RecordID struct {
	ID string `path:"id" doc:"The record's id."`
}

// IfMatchHeader is the condition of a write.
type IfMatchHeader struct {
	IfMatch string `header:"If-Match" doc:"The ETag of the version this write replaces; a stale one answers 412."`
}

type myRecordInput struct {
	MyRecordsPath
	RecordID
}

func (s *Server) getMyRecord(ctx context.Context, in *myRecordInput) (*recordOutput, error) {
	return recordOutputOf(s.collections.Get(ctx, userd.ActorFrom(ctx), "", in.Name, in.ID))
}

type orgRecordInput struct {
	RecordsPath
	RecordID
}

func (s *Server) getOrgRecord(ctx context.Context, in *orgRecordInput) (*recordOutput, error) {
	return recordOutputOf(s.collections.Get(ctx, userd.ActorFrom(ctx), in.OrgID, in.Name, in.ID))
}

type putMyRecordInput struct {
	MyRecordsPath
	RecordID
	IfMatchHeader
	Body recordBody
}

func (s *Server) putMyRecord(ctx context.Context, in *putMyRecordInput) (*recordOutput, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return recordOutputOf(s.collections.Replace(ctx, userd.ActorFrom(ctx), "", in.Name, in.ID, v, in.Body.Data))
}

type putOrgRecordInput struct {
	RecordsPath
	RecordID
	IfMatchHeader
	Body recordBody
}

func (s *Server) putOrgRecord(ctx context.Context, in *putOrgRecordInput) (*recordOutput, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return recordOutputOf(s.collections.Replace(ctx, userd.ActorFrom(ctx), in.OrgID, in.Name, in.ID, v, in.Body.Data))
}

type patchMyRecordInput struct {
	MyRecordsPath
	RecordID
	IfMatchHeader
	RawBody []byte `contentType:"application/merge-patch+json" doc:"A JSON Merge Patch (RFC 7396) of the record's data: null removes a field."`
}

func (s *Server) patchMyRecord(ctx context.Context, in *patchMyRecordInput) (*recordOutput, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return recordOutputOf(s.collections.Patch(ctx, userd.ActorFrom(ctx), "", in.Name, in.ID, v, in.RawBody))
}

type patchOrgRecordInput struct {
	RecordsPath
	RecordID
	IfMatchHeader
	RawBody []byte `contentType:"application/merge-patch+json" doc:"A JSON Merge Patch (RFC 7396) of the record's data: null removes a field."`
}

func (s *Server) patchOrgRecord(ctx context.Context, in *patchOrgRecordInput) (*recordOutput, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return recordOutputOf(s.collections.Patch(ctx, userd.ActorFrom(ctx), in.OrgID, in.Name, in.ID, v, in.RawBody))
}

type deleteMyRecordInput struct {
	MyRecordsPath
	RecordID
	IfMatchHeader
}

func (s *Server) deleteMyRecord(ctx context.Context, in *deleteMyRecordInput) (*struct{}, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return nil, s.collections.Delete(ctx, userd.ActorFrom(ctx), "", in.Name, in.ID, v)
}

type deleteOrgRecordInput struct {
	RecordsPath
	RecordID
	IfMatchHeader
}

func (s *Server) deleteOrgRecord(ctx context.Context, in *deleteOrgRecordInput) (*struct{}, error) {
	v, err := ifMatchVersion(in.IfMatch, collection.ErrStale)
	if err != nil {
		return nil, err
	}
	return nil, s.collections.Delete(ctx, userd.ActorFrom(ctx), in.OrgID, in.Name, in.ID, v)
}

// RecordEvent is an event of the collections' stream: a user's record
// created, changed or deleted.
type RecordEvent struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id" doc:"The record's id."`
	Version    int             `json:"version" doc:"The record's version after the change (its last, for a deletion)."`
	Data       json.RawMessage `json:"data" doc:"The record's data after the change; null for a deletion."`
	At         time.Time       `json:"at"`
}

// changes is the feed of the collections' stream.
type changes struct{ svc *collection.Service }

func eventOf(c collection.Change) event {
	return event{c.ID, c.Type, RecordEvent{Collection: c.Collection, ID: c.RecordID, Version: c.Version, Data: c.Data, At: c.At}}
}

func (f changes) after(ctx context.Context, a userd.Actor, last string) ([]event, error) {
	cs, err := f.svc.ChangesAfter(ctx, a, last, backlogBatch)
	return mapAll(cs, eventOf), err
}

func (f changes) get(ctx context.Context, a userd.Actor, id string) (event, bool, error) {
	c, err := f.svc.GetChange(ctx, a, id)
	if errors.Is(err, collection.ErrChangeNotFound) {
		return event{}, false, nil
	}
	return eventOf(c), err == nil, err
}

// collectionStream serves GET /v1/me/collections/stream: Server-Sent
// Events, one per creation ("record.created"), change ("record.updated")
// and deletion ("record.deleted") of the user's records as it is committed
// in any userd process, with the change's id as the event id;
// Last-Event-ID resumes. It ends with its credential, as the notification
// stream does.
func (s *Server) collectionStream(ctx context.Context, in *streamInput) (*huma.StreamResponse, error) {
	return s.eventStream(ctx, in.LastEventID, s.changeHub, changes{s.collections})
}

// recordStream documents the collections' stream's answer.
func recordStream(s *Server) *huma.Response {
	return &huma.Response{
		Description: "An event stream: `event: record.created`, `record.updated` or `record.deleted`, `id:` the change's id, `data:` the record's collection, id, version and data (null for a deletion) as JSON; comments as heartbeats. " +
			"It ends as the notification stream does, with `event: end` when its credential ends; changes are kept a week for Last-Event-ID to resume from. " +
			"A user may hold 20 streams open at once: the next is 429 `too_many_streams`.",
		Content: map[string]*huma.MediaType{"text/event-stream": {
			Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[RecordEvent](), true, "")}},
	}
}
