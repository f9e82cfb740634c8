// Package media owns every pixel aperture handles: it sniffs and bounds
// uploads, decodes them, turns them upright, crops and filters them,
// renders the fixed variants, and writes them content-addressed under
// DATA/media. No other package decodes or encodes images.
package media
