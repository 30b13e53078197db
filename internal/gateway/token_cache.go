package gateway

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// Bounds of the hub-token cache: tokens the hub accepted, least recently
// used evicted first; refusals apart and fewer, so junk tokens only ever
// push out other junk.
const (
	maxCachedTokens   = 10000
	maxCachedRefusals = 1000
)

// tokenCache remembers the hub's answers by token hash until they expire.
type tokenCache struct {
	mu       sync.Mutex
	accepted lru
	refused  lru
}

type cachedAnswer struct {
	key     [32]byte
	id      Identity
	expires time.Time
}

func newTokenCache(accepted, refused int) *tokenCache {
	return &tokenCache{accepted: newLRU(accepted), refused: newLRU(refused)}
}

// get is the answer cached for key at now: hit says whether there was one.
func (c *tokenCache) get(key [32]byte, now time.Time) (id Identity, ok, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, found := c.accepted.get(key, now); found {
		return a.id, true, true
	}
	if _, found := c.refused.get(key, now); found {
		return Identity{}, false, true
	}
	return Identity{}, false, false
}

func (c *tokenCache) put(key [32]byte, id Identity, ok bool, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := &cachedAnswer{key: key, id: id, expires: expires}
	if ok {
		c.refused.remove(key)
		c.accepted.put(a)
	} else {
		c.accepted.remove(key)
		c.refused.put(a)
	}
}

// forget drops what is cached for key.
func (c *tokenCache) forget(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accepted.remove(key)
	c.refused.remove(key)
}

// lru is a bounded map whose least recently used entry goes first.
type lru struct {
	max   int
	order *list.List // front: most recent
	items map[[32]byte]*list.Element
}

func newLRU(max int) lru {
	return lru{max: max, order: list.New(), items: map[[32]byte]*list.Element{}}
}

func (l *lru) get(key [32]byte, now time.Time) (*cachedAnswer, bool) {
	e, ok := l.items[key]
	if !ok {
		return nil, false
	}
	a := e.Value.(*cachedAnswer)
	if !now.Before(a.expires) {
		l.remove(key)
		return nil, false
	}
	l.order.MoveToFront(e)
	return a, true
}

func (l *lru) put(a *cachedAnswer) {
	if e, ok := l.items[a.key]; ok {
		e.Value = a
		l.order.MoveToFront(e)
		return
	}
	for len(l.items) >= l.max {
		l.remove(l.order.Back().Value.(*cachedAnswer).key)
	}
	l.items[a.key] = l.order.PushFront(a)
}

func (l *lru) remove(key [32]byte) {
	if e, ok := l.items[key]; ok {
		l.order.Remove(e)
		delete(l.items, key)
	}
}

// lookups merges identical look-ups in flight into one.
type lookups struct {
	mu      sync.Mutex
	pending map[[32]byte]*flight
}

type flight struct {
	done    chan struct{}
	waiters int // callers waiting on the first one's answer
	res     lookup
}

type lookup struct {
	id  Identity
	ok  bool
	err error
}

// do runs fn once for all callers asking for key at the same time.
func (m *lookups) do(key [32]byte, fn func() lookup) lookup {
	m.mu.Lock()
	if m.pending == nil {
		m.pending = map[[32]byte]*flight{}
	}
	if f, ok := m.pending[key]; ok {
		f.waiters++
		m.mu.Unlock()
		<-f.done
		return f.res
	}
	f := &flight{done: make(chan struct{})}
	m.pending[key] = f
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.pending, key)
		m.mu.Unlock()
		close(f.done)
	}()
	f.res = fn()
	return f.res
}

// rememberTokensFor is how long a gateway remembers who holds a token it
// found in the ledger (and, meanwhile, a revoked one holds a slot until
// its reservation refuses it).
const rememberTokensFor = time.Minute

// rememberedTokens are the ledger's tokens as this gateway last found
// them, for the model endpoints only: each reservation checks the token
// again under the student's lock (ledger.Ask.Token), so one revoked or
// replaced is refused there, and forgotten. What is not a token is asked
// of the ledger every time: junk pushes nothing out.
type rememberedTokens struct {
	tokenAuth
	cache *tokenCache
	now   func() time.Time
}

func newRememberedTokens(l *ledger.Ledger) *rememberedTokens {
	return &rememberedTokens{tokenAuth: tokenAuth{ledger: l}, cache: newTokenCache(maxCachedTokens, 1), now: time.Now}
}

func (a *rememberedTokens) identify(r *http.Request, token string) (Identity, bool, error) {
	if token == "" {
		return Identity{}, false, nil
	}
	key := sha256.Sum256([]byte(token))
	if id, ok, hit := a.cache.get(key, a.now()); hit && ok {
		return id, true, nil
	}
	id, ok, err := a.tokenAuth.identify(r, token)
	if ok && err == nil {
		a.cache.put(key, id, true, a.now().Add(rememberTokensFor))
	}
	return id, ok, err
}

// forget drops token: the ledger refused it.
func (a *rememberedTokens) forget(token string) { a.cache.forget(sha256.Sum256([]byte(token))) }
