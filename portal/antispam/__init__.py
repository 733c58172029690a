"""Spam without surveillance: a honeypot field and an optional proof of work.

Neither looks at who sends a report. The honeypot catches form-filling bots; the proof of work
lets a browser with JavaScript earn a higher filing rate by spending a little CPU; a browser
without JavaScript files under the normal limits and is never refused for lacking it.
"""
