"""The web UI's whole story in a real browser (Debian's Chromium, headless, driven by Playwright).

Run by WebStoryTests (Swift), which starts a real `paddock` server stack, a git origin and a scripted model,
and passes what the browser needs on the command line. Prints one JSON object: what the browser saw at each
step. Screenshots of every screen, at a desktop and a phone width, go to --shots.

A PM redeems an invite, signs in, starts a change on a project, watches it live and submits it; an engineer
signs in, approves and merges it.
"""

import argparse
import json
import sys
import time

from playwright.sync_api import sync_playwright, expect

WIDTHS = {"desktop": (1280, 900), "phone": (360, 780)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--invite", required=True, help="the invite link's path, /invite/<secret>")
    p.add_argument("--pm", required=True)
    p.add_argument("--pm-password", required=True)
    p.add_argument("--engineer", required=True)
    p.add_argument("--engineer-password", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--expect-message", required=True, help="text the agent's final message contains")
    p.add_argument("--shots", required=True)
    p.add_argument("--heavy", help="a session with thousands of events: how soon its page is interactive")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    seen = {}
    expect.set_options(timeout=120_000)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = None
        try:
            def shoot(name, on=None):
                target = on or page
                for label, (w, h) in WIDTHS.items():
                    target.set_viewport_size({"width": w, "height": h})
                    target.screenshot(path=f"{args.shots}/{name}-{label}.jpg", type="jpeg", quality=60, full_page=False)
                target.set_viewport_size({"width": 1280, "height": 900})

            # The engineer signs in and keeps the approvals inbox open: it updates by itself.
            eng = browser.new_context(viewport={"width": 1280, "height": 900})
            inbox = eng.new_page()
            inbox.goto(args.base + "/approvals")
            inbox.wait_for_url(f"{args.base}/signin**")
            shoot("signin", on=inbox)
            inbox.fill("#user", args.engineer)
            inbox.fill("#password", args.engineer_password)
            inbox.click("button[type=submit]")
            inbox.wait_for_url(args.base + "/approvals")
            expect(inbox.locator("main")).to_contain_text("Nothing is waiting")

            pm = browser.new_context(viewport={"width": 1280, "height": 900})
            page = pm.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            # The invite: the PM chooses a password and is signed in.
            page.goto(args.base + args.invite)
            shoot("invite")
            if page.locator("#user").count() and not page.locator("#user").input_value():
                page.fill("#user", args.pm)
            page.fill("#password", args.pm_password)
            page.fill("#confirm", args.pm_password)
            page.click("button[type=submit]")
            page.wait_for_url(args.base + "/")
            seen["signed_in_as"] = page.locator(".who").inner_text()

            # Start: the project, a prompt in plain words.
            expect(page.locator("#prompt")).to_be_visible()
            seen["allowed"] = page.locator(".allowed li").all_inner_texts()
            shoot("start")
            page.select_option("#project", args.project)
            page.fill("#prompt", args.prompt)
            page.click("form.start button[type=submit]")
            page.wait_for_url(f"{args.base}/sessions/*")
            seen["session_url"] = page.url

            # The agent asks before a command the project's rules say needs a person: the engineer's inbox shows
            # it without a reload, and their answer lets the agent go on.
            expect(inbox.locator("li.approval")).to_be_visible()
            seen["approval_asked"] = inbox.locator("li.approval code").first.inner_text()
            shoot("approvals", on=inbox)
            inbox.fill("li.approval input[name=note]", "fine for a scratch file")
            inbox.click("li.approval button[value=approve]")
            expect(inbox.locator("main")).to_contain_text("Nothing is waiting")

            # The session page, live: the agent's final message arrives without a reload.
            expect(page.locator("#timeline")).to_contain_text(args.expect_message)
            expect(page.locator(".run-status")).to_contain_text("finished")
            seen["meters"] = page.locator(".meters").inner_text()
            seen["timeline_has_approval"] = page.locator("#timeline li.item-approval").count() > 0
            seen["timeline_kinds"] = sorted(
                set(page.locator("#timeline li").evaluate_all("els => els.map(e => e.className)")))
            seen["timeline_has_markup_from_agent"] = page.locator("#timeline img, #timeline script").count() > 0
            seen["xss_ran"] = page.evaluate("() => window.__paddockXSS === true")
            page.evaluate("window.scrollTo(0, 0)")
            shoot("session")

            # The session's audit trail: verified, every event with who did it.
            session_url = page.url
            page.click("text=Audit trail")
            expect(page.locator(".verification")).to_contain_text("verifies")
            shoot("audit")

            # The run replayed step by step, moved on with the arrow keys.
            page.click("ul.runs a >> nth=0")
            expect(page.locator(".stepper .position")).to_contain_text("Step 1 of")
            page.keyboard.press("ArrowRight")
            expect(page.locator(".stepper .position")).to_contain_text("Step 2 of")
            page.keyboard.press("ArrowRight")
            expect(page.locator(".stepper .position")).to_contain_text("Step 3 of")
            seen["replay"] = page.locator(".stepper .position").inner_text()
            page.goto(page.url.split("?")[0] + "?step=6")
            seen["replay_step"] = page.locator("article.current").inner_text()
            shoot("replay")
            page.goto(session_url)

            # The changes, then Submit for review: each check's result is shown.
            page.click("text=Changes")
            expect(page.locator("table.diff").first).to_be_visible()
            shoot("changes")
            page.click("text=Side by side")
            expect(page.locator("table.diff.split").first).to_be_visible()
            shoot("changes-split")
            page.fill("#message", "Add mul")
            page.click("form.submit button[type=submit]")
            expect(page.locator(".report")).to_contain_text("Sent for review")
            seen["checks"] = page.locator(".report details.check summary").all_inner_texts()
            shoot("submitted")
            page.click("text=Sign out")
            page.wait_for_url(f"{args.base}/signin**")
            seen["pm_page_errors"] = errors
            pm.close()

            # The engineer reviews, approves and merges.
            page = inbox
            page.goto(args.base + "/reviews")
            shoot("reviews")
            page.click("ul.cards a >> nth=0")
            expect(page.locator("h1")).to_contain_text("Add mul")
            shoot("review")
            page.click("text=Approve and merge")
            expect(page.locator("p.merged")).to_contain_text("Merged as")
            seen["merged"] = page.locator("p.merged").inner_text()
            shoot("merged")

            # The org page: the emergency stop, and this month's spending per team drawn on the server.
            page.click("nav >> text=Org")
            expect(page.locator("svg.chart").first.locator("rect")).to_have_count(1)
            seen["org_chart"] = page.locator("svg.chart").first.text_content()
            seen["org_by_project"] = page.locator("svg.chart").last.text_content()
            shoot("org")

            if args.heavy:
                seen["heavy_page"] = measure(page, f"{args.base}/sessions/{args.heavy}")
                shoot("heavy")
            eng.close()
        except Exception:
            # What the browser showed when it went wrong, for the test's report.
            if page is not None:
                page.screenshot(path=f"{args.shots}/failure.jpg", type="jpeg", quality=60)
                print(page.url, file=sys.stderr)
                print(page.locator("main").inner_text()[:2000], file=sys.stderr)
            raise
        finally:
            browser.close()
    json.dump(seen, sys.stdout)


def measure(page, url, loads=5):
    """How soon a long session page is usable: the median, over several loads, of the navigation's
    domInteractive, DOMContentLoaded end and load end (ms from navigation start), and how many lines it shows."""
    samples = []
    for _ in range(loads):
        page.goto(url, wait_until="load")
        samples.append(page.evaluate("""() => {
            const n = performance.getEntriesByType("navigation")[0];
            return [n.domInteractive, n.domContentLoadedEventEnd, n.loadEventEnd];
        }"""))
    middle = lambda i: sorted(s[i] for s in samples)[len(samples) // 2]
    return {
        "items": page.locator("#timeline li").count(),
        "dom_interactive_ms": round(middle(0)),
        "dom_content_loaded_ms": round(middle(1)),
        "load_ms": round(middle(2)),
    }


if __name__ == "__main__":
    main()
