package transfer

import "html/template"

// offlinePage is an export's index.html: the account and its posts,
// newest first, with their photos from photos/, readable with no network.
var offlinePage = template.Must(template.New("index.html").Funcs(template.FuncMap{
	"reverse": func(p []Post) []Post {
		out := make([]Post, len(p))
		for i := range p {
			out[len(p)-1-i] = p[i]
		}
		return out
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Account.Username}} · aperture export</title>
<style>
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#262626;background:#fafafa}
header{max-width:614px;margin:0 auto;padding:24px 16px 8px;display:flex;gap:16px;align-items:center}
header img{width:77px;height:77px;border-radius:50%;object-fit:cover}
h1{font-size:20px;margin:0}
.muted{color:#8e8e8e;font-size:13px}
article{max-width:614px;margin:16px auto;background:#fff;border:1px solid #dbdbdb;border-radius:8px;overflow:hidden}
article img{display:block;width:100%;height:auto}
article p{margin:8px 12px}
@media (prefers-color-scheme:dark){body{background:#000;color:#f5f5f5}article{background:#000;border-color:#363636}}
</style></head><body>
<header>{{with .Account.Picture}}<img src="{{.}}" alt="">{{end}}<div><h1>{{.Account.Username}}</h1>
{{with .Account.Name}}<div><b>{{.}}</b></div>{{end}}{{with .Account.Bio}}<div>{{.}}</div>{{end}}
<div class="muted">{{len .Account.Posts}} posts · exported from {{.Instance}} on {{.ExportedAt.Format "2 January 2006"}}</div></div></header>
{{range reverse .Account.Posts}}<article>
{{range .Photos}}<img src="{{.Path}}" alt="{{.Alt}}" loading="lazy">{{end}}
{{with .Caption}}<p>{{.}}</p>{{end}}
<p class="muted">{{.TakenAt.Format "2 January 2006, 15:04"}}{{with .Location}} · {{.Name}}{{end}}</p>
</article>{{end}}
</body></html>
`))
