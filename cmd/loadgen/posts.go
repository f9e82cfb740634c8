package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// postFlow measures post creation as a client makes it: n small photos
// are uploaded through the real pipeline first (untimed for the figure,
// spread over the accounts), then n posts, one per photo, are created at
// conns connections and timed. Last it waits, up to a minute, until the
// outbox is empty again, so the fan-out of those posts is done before the
// server stops, and reports how long that took.
func postFlow(client *http.Client, base string, tokens []string, conns, n int) error {
	photo := smallJPEG()
	type upload struct {
		token string
		id    string
	}
	uploads := make([]upload, 0, n)
	var mu sync.Mutex
	up := each(conns, n, func(i int) error {
		tok := tokens[i%len(tokens)]
		id, err := uploadPhoto(client, base, tok, photo)
		if err == nil {
			mu.Lock()
			uploads = append(uploads, upload{tok, id})
			mu.Unlock()
		}
		return err
	})
	up.print("upload POST /api/v1/media")
	if len(uploads) == 0 {
		return fmt.Errorf("no photo could be uploaded")
	}
	create := each(conns, len(uploads), func(i int) error {
		body, _ := json.Marshal(map[string]any{"caption": "From the load generator #loadgen", "media_ids": []string{uploads[i].id}})
		req, _ := http.NewRequest("POST", base+"/api/v1/posts", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+uploads[i].token)
		req.Header.Set("Content-Type", "application/json")
		return expect(client.Do(req))
	})
	create.print("create POST /api/v1/posts")
	return drain(client, base, "the last post was created")
}

// each calls fn(0..n-1) from conns workers and returns the rate and
// latency quantiles of the calls that succeeded.
func each(conns, n int, fn func(i int) error) result {
	var next, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{n: int64(len(lat)), errs: errs.Load()}
	if len(lat) > 0 {
		r.rate = float64(len(lat)) / elapsed.Seconds()
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

// expect reads and closes an answer, failing on a status other than 2xx.
func expect(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", res.Status, b)
	}
	return nil
}

func uploadPhoto(client *http.Client, base, token string, photo []byte) (string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	f, _ := w.CreateFormFile("file", "loadgen.jpg")
	f.Write(photo)
	w.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/media", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var m struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK || m.ID == "" {
		return "", fmt.Errorf("upload: %s", res.Status)
	}
	return m.ID, nil
}

// smallJPEG is a 96×96 gradient: enough for the pipeline, cheap to process.
func smallJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 2), 160, 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	return b.Bytes()
}
