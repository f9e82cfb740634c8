package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"aperture/media"
	"aperture/transfer/transfertest"
)

// newPost walks the new-post flow with a photo taken in Lisbon (where the
// demo has posts) and saves each step: pick, crop, filter, the details
// with the location suggestions, and the map picker.
func newPost(ctx context.Context, base string, snap func(name string) error) error {
	dir, err := os.MkdirTemp("", "aperture-shots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "lisbon.jpg")
	if err := os.WriteFile(file, media.Geotag(media.Synthetic(1080, 1350, 11), 38.7139, -9.1334), 0o644); err != nil {
		return err
	}
	settle := chromedp.Sleep(500 * time.Millisecond)
	steps := []struct {
		name string
		do   []chromedp.Action[chromedp.Void]
	}{
		{"new-1-pick", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/new"), chromedp.WaitVisible(chromedp.CSS(`[data-drop]`))}},
		{"new-2-crop", []chromedp.Action[chromedp.Void]{chromedp.SetUploadFiles(chromedp.CSS(`[data-files]`), []string{file}),
			chromedp.WaitVisible(chromedp.CSS(`[data-step=crop].on [data-crop-img]`)),
			chromedp.Click(chromedp.CSS(`input[name=aspect][value=portrait]`)), settle}},
		{"new-3-filter", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-next]`)),
			chromedp.WaitVisible(chromedp.CSS(`label.filter:last-child [data-fprev] img`)),
			chromedp.Click(chromedp.CSS(`label.filter:has(input[value=clarendon])`)), settle}},
		{"new-4-details", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-next]`)),
			chromedp.SendKeys(chromedp.CSS(`textarea[name=caption]`), "Golden hour over the river #sunset"),
			chromedp.WaitVisible(chromedp.CSS(`[data-place-chips] button:nth-child(2)`)), settle}},
		{"new-5-map", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-pick-open]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-picker] svg .mappin`)), settle}},
	}
	for _, s := range steps {
		if err := chromedp.Do(ctx, s.do...); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := snap(s.name); err != nil {
			return err
		}
	}
	return nil
}

// importFromInstagram uploads a small Instagram download on the settings
// page and saves the page once the import's summary shows.
func importFromInstagram(ctx context.Context, base string, snap func(name string) error) error {
	dir, err := os.MkdirTemp("", "aperture-shots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "instagram-maya.zip")
	if err := os.WriteFile(file, transfertest.Instagram(transfertest.Options{Posts: 6, Photos: 2, Size: 800, Following: []string{"aiko", "diego", "jonas", "greta", "someone.elsewhere"}}), 0o644); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	err = chromedp.Do(wait, chromedp.Navigate(base+"/settings"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-import-file]`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-import-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-run][data-state=done]`)),
		chromedp.Sleep(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return snap("import")
}
