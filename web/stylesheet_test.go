package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// checkStylesheets reads every stylesheet the page links, as served, and
// asks the browser whether it accepts each declaration (CSS.supports):
// one it drops (an invalid value, a misspelt property) is silently lost
// in the page, so it fails here. Custom properties, whose values are
// checked only where they are used, are skipped.
const checkStylesheets = `(() => {
  const bad = [];
  for (const link of document.querySelectorAll('link[rel=stylesheet]')) {
    const x = new XMLHttpRequest();
    x.open('GET', link.href, false);
    x.send();
    bad.push(...(` + droppedDeclarations + `)(new URL(link.href).pathname, x.responseText));
  }
  return bad;
})()`

// droppedDeclarations is a JavaScript function of a sheet's name and
// text that returns the declarations the browser would drop.
const droppedDeclarations = `function (name, text) {
  const bad = [];
  const css = text.replace(/\/\*[\s\S]*?\*\//g, '');
  // Split into blocks and declarations, minding quotes and brackets.
  let depth = 0, quote = '', cur = '', heads = [];
  const take = () => {
    const d = cur.trim(); cur = '';
    if (!d) return;
    const i = d.indexOf(':');
    if (i < 0) { bad.push(name + ': "' + d + '" is not a declaration'); return; }
    const prop = d.slice(0, i).trim();
    const value = d.slice(i + 1).trim().replace(/!important$/, '').trim();
    if (prop.startsWith('--')) return;
    if (!CSS.supports(prop, value)) bad.push(name + ' ' + heads.join(' ') + ' { ' + prop + ': ' + value + ' }');
  };
  for (const c of css) {
    if (quote) { cur += c; if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") { quote = c; cur += c; continue; }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth > 0) { cur += c; continue; }
    if (c === '{') { heads.push(cur.trim()); cur = ''; continue; }
    if (c === '}') { if (heads.length && !heads[heads.length - 1].startsWith('@')) take(); heads.pop(); cur = ''; continue; }
    if (c === ';') { take(); continue; }
    cur += c;
  }
  return bad;
}`

// Every declaration in aperture's stylesheet is one the browser keeps.
func TestBrowserStylesheetHasNoDroppedDeclaration(t *testing.T) {
	_, base := site(t)
	b := browsers(t, base, 1)[0]
	b.visit("/login")
	bad, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](checkStylesheets))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("the browser drops %d declaration(s):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	// A button and a link styled as one look the same.
	same, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const a = document.createElement('a'), btn = document.createElement('button');
		a.className = btn.className = 'btn'; a.textContent = btn.textContent = 'Log in';
		document.body.append(a, btn);
		const f = e => { const s = getComputedStyle(e); return [s.fontFamily, s.fontSize, s.fontWeight, s.lineHeight].join(' / '); };
		return f(a) === f(btn) ? '' : f(a) + ' against ' + f(btn);
	})()`))
	if err != nil || same != "" {
		t.Fatalf("a link and a button of class btn differ: %s (%v)", same, err)
	}
	// The check itself finds a dropped declaration, also inside @media.
	sample := `.x{font:600 14px/1.3 inherit;color:red;background:url("a;b.png")}@media (max-width:1px){.y{colr:blue}}`
	bad, err = chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf("(%s)('sample.css', %q)", droppedDeclarations, sample)))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 2 {
		t.Fatalf("the check found %d dropped declarations in a sheet with 2: %q", len(bad), bad)
	}
}
