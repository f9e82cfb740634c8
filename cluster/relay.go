package cluster

import (
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go"

	"aperture/store"
)

// Relay carries what one node must tell every other at once, on plain
// NATS subjects (nothing is stored): a user's live events, whichever node
// that user's event stream is connected to, and the sessions a node
// ended, so that their tokens stop working everywhere within a second.
type Relay struct {
	n    *Node
	subs []*nats.Subscription
}

// relayed is a live event on its way to every node.
type relayed struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

// NewRelay subscribes this node to the other nodes' live events, handed
// to deliver (its own included, so deliver is the one way an event
// reaches a stream), and ended sessions, handed to forget. It returns an
// error when the node's connection refuses the subscriptions.
func (n *Node) NewRelay(deliver func(user store.ID, typ, data string), forget func(session store.ID)) (*Relay, error) {
	r := &Relay{n: n}
	sub, err := n.nc.Subscribe(SubjectEvents+"*", func(msg *nats.Msg) {
		var e relayed
		user, err := store.ParseID(strings.TrimPrefix(msg.Subject, SubjectEvents))
		if err == nil && json.Unmarshal(msg.Data, &e) == nil {
			deliver(user, e.Type, e.Data)
		}
	})
	if err != nil {
		return nil, err
	}
	r.subs = append(r.subs, sub)
	sub, err = n.nc.Subscribe(SubjectRevoked, func(msg *nats.Msg) {
		if sid, err := store.ParseID(string(msg.Data)); err == nil {
			forget(sid)
		}
	})
	if err != nil {
		r.Stop()
		return nil, err
	}
	r.subs = append(r.subs, sub)
	return r, nil
}

// Event sends a live event for user to every node.
func (r *Relay) Event(user store.ID, typ, data string) {
	b, _ := json.Marshal(relayed{Type: typ, Data: data})
	r.n.nc.Publish(SubjectEvents+user.String(), b)
}

// Ended tells every node that session ended.
func (r *Relay) Ended(session store.ID) {
	r.n.nc.Publish(SubjectRevoked, []byte(session.String()))
}

// Stop ends the subscriptions.
func (r *Relay) Stop() {
	for _, s := range r.subs {
		s.Unsubscribe()
	}
	r.subs = nil
}
