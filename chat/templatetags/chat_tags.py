from django import template
from django.utils.safestring import SafeString

from chat.mentions import render_message_body

register = template.Library()


@register.filter
def chat_body(message) -> SafeString:
    """A message's sanitised Markdown with its mentions as links (chat.mentions)."""
    return render_message_body(message)
