"""A preview share link in a real browser (Debian's Chromium, headless, driven by Playwright).

Run by PreviewBrowserTests (Swift), which starts a sandbox with a small app, the preview listener and a
public share link. Opens the link as an outsider would (no Paddock sign-in), reloads, and checks the app's
page and its WebSocket each time. Prints one JSON object: what the browser saw.
"""

import argparse
import json

from playwright.sync_api import sync_playwright, expect


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--link", required=True, help="the share link, pointing at the app's /page")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    seen = {}
    expect.set_options(timeout=60_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_context().new_page()
        page.goto(args.link)
        expect(page.locator("h1")).to_have_text("hello from the sandbox")
        expect(page.locator("#ws")).to_have_text("echo:ping")
        seen["url"] = page.url
        seen["script_cookies"] = page.evaluate("document.cookie")
        page.reload()
        expect(page.locator("#ws")).to_have_text("echo:ping")
        seen["after_reload"] = page.locator("#ws").text_content()
        seen["url_after_reload"] = page.url
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
