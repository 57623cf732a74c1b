from django import template

from notifications.models import BoardMute, TaskWatch

register = template.Library()


@register.simple_tag(takes_context=True)
def board_muted(context, board) -> bool:
    user = context["request"].user
    return BoardMute.objects.filter(user=user, board=board).exists()


@register.simple_tag(takes_context=True)
def task_watched(context, task) -> bool:
    user = context["request"].user
    return TaskWatch.objects.filter(user=user, task=task).exists()
