"""Global search: stemming, phrases, comments, payload bodies, scoping and freshness.

The same tests run on the embedded SQLite (FTS5) and, with DATABASE_URL=postgres://…, on
PostgreSQL (stored tsvector + GIN, websearch_to_tsquery, pg_trgm).
"""

from __future__ import annotations

import pytest

from agents.services import create_agent
from boards import services
from chat import services as chat_services
from core.actors import Actor
from search.models import SearchDocument, SearchKind
from search.queries import documents_for_agent, documents_for_user
from search.queries import search_documents as search_index
from tests.activity.log import drain_log
from tests.conftest import USING_POSTGRES, requires_postgres, requires_sqlite
from tests.factories import AgentFactory, BoardFactory
from webhooks.services import create_webhook, delete_webhook, ingest_webhook_payload

pytestmark = pytest.mark.django_db


# The index follows the activity log (a log consumer): every search here first lets the log be
# followed, as the worker would have done by then.


def search_documents(documents, text, **kwargs):
    drain_log()
    return search_index(documents, text, **kwargs)


def titles(user, text, **kwargs):
    return [hit.title for hit in search_documents(documents_for_user(user), text, **kwargs)]


def kinds_and_titles(user, text):
    return [(hit.kind, hit.title) for hit in search_documents(documents_for_user(user), text)]


@pytest.fixture
def actor(user):
    return Actor.for_user(user)


def new_task(board, actor, title, description=""):
    return services.create_task(board=board, actor=actor, title=title, description=description)


def test_it_finds_a_task_by_another_form_of_the_word(board, actor, user):
    new_task(board, actor, "Deploy the billing service")
    new_task(board, actor, "Write release notes")
    assert ("task", "Deploy the billing service") in kinds_and_titles(user, "deploying")


def test_a_quoted_phrase_matches_the_words_in_that_order_only(board, actor, user):
    new_task(board, actor, "Deploy failed on staging")
    new_task(board, actor, "Failed to deploy the worker")
    found = titles(user, '"deploy failed"', kinds=[SearchKind.TASK])
    assert found == ["Deploy failed on staging"]


def test_it_finds_a_task_by_a_word_of_one_of_its_comments(board, actor, user):
    task = new_task(board, actor, "Rotate the keys")
    services.add_comment(task=task, actor=actor, body="Waiting on the flamingo vendor to answer")
    hits = search_documents(documents_for_user(user), "flamingo", kinds=[SearchKind.TASK])
    assert [(h.kind, h.object_id) for h in hits] == [("task", task.pk)]
    assert "<mark>flamingo</mark>" in hits[0].excerpt_html


def test_the_tasks_document_follows_its_conversation_posted_edited_and_deleted_in_the_thread(
    board, actor, user
):
    """A comment is a message of the task's thread: one posted, edited or deleted there changes
    what finds the task."""
    task = new_task(board, actor, "Rotate the keys")
    message = chat_services.post_message(board=board, actor=actor, body="the pelican signed off", task=task)
    assert titles(user, "pelican", kinds=[SearchKind.TASK]) == ["Rotate the keys"]
    chat_services.edit_message(message=message, actor=actor, body="the heron signed off")
    assert titles(user, "pelican", kinds=[SearchKind.TASK]) == []
    assert titles(user, "heron", kinds=[SearchKind.TASK]) == ["Rotate the keys"]
    chat_services.delete_message(message=message, actor=actor)
    assert titles(user, "heron", kinds=[SearchKind.TASK]) == []


def test_it_finds_a_webhook_payload_by_its_body_source_and_event_name(
    board, actor, user, django_capture_on_commit_callbacks
):
    webhook, _ = create_webhook(board=board, actor=actor, description="GitHub CI", secret="")
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_webhook_payload(
            webhook=webhook,
            body=b'{"message": "zebracorn build exploded"}',
            content_type="application/json",
            headers={"X-GitHub-Event": "workflow_run"},
        )
    for text in ("zebracorn", "workflow_run", "GitHub"):
        hits = search_documents(documents_for_user(user), text, kinds=[SearchKind.PAYLOAD])
        assert [h.object_id for h in hits] == [result.payload.pk], text
    assert hits[0].title == "GitHub CI · workflow_run"


def test_an_outsider_finds_nothing_of_another_organization(board, actor, user, outsider):
    new_task(board, actor, "Deploy the billing service")
    AgentFactory(organization=board.organization, name="deploy-bot")
    assert titles(user, "deploy")
    assert titles(outsider, "deploy") == []
    assert titles(outsider, "billing") == []


def test_results_follow_an_edit_and_a_delete_at_once(board, actor, user):
    task = new_task(board, actor, "Deploy the billing service")
    services.update_task(task=task, actor=actor, title="Migrate the ledger")
    assert "Deploy the billing service" not in titles(user, "billing", kinds=[SearchKind.TASK])
    assert titles(user, "ledger", kinds=[SearchKind.TASK]) == ["Migrate the ledger"]
    services.delete_task(task=task, actor=actor)
    assert titles(user, "ledger", kinds=[SearchKind.TASK]) == []
    drain_log()
    assert not SearchDocument.objects.filter(kind=SearchKind.TASK, object_id=task.pk).exists()


def test_it_finds_agents_boards_and_activity(organization, board, actor, user):
    create_agent(organization=organization, actor=actor, name="release-captain", description="Ships builds")
    services.update_board(board=board, actor=actor, description="Everything about the quokka launch")
    assert {hit.kind for hit in search_documents(documents_for_user(user), "release-captain")} >= {
        SearchKind.AGENT,
        SearchKind.ACTIVITY,
    }
    assert ("board", "Launch") in kinds_and_titles(user, "quokka")


def test_excluded_words_and_either_or(board, actor, user):
    new_task(board, actor, "Deploy api")
    new_task(board, actor, "Deploy worker")
    new_task(board, actor, "Restart cron")
    assert titles(user, "deploy -worker", kinds=[SearchKind.TASK]) == ["Deploy api"]
    assert sorted(titles(user, "worker or cron", kinds=[SearchKind.TASK])) == [
        "Deploy worker",
        "Restart cron",
    ]


def test_the_title_ranks_above_a_mention_in_the_body(board, actor, user):
    new_task(board, actor, "Clean the cache", description="After the otter release")
    new_task(board, actor, "Otter release checklist")
    assert titles(user, "otter", kinds=[SearchKind.TASK])[0] == "Otter release checklist"


def test_markup_in_a_title_is_escaped_and_only_the_match_is_marked(board, actor, user):
    new_task(board, actor, "<script>alert(1)</script> deploy")
    hit = search_documents(documents_for_user(user), "deploy", kinds=[SearchKind.TASK])[0]
    assert hit.title_html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>deploy</mark>"


def test_an_agent_finds_only_the_boards_it_is_on(organization, board, actor, user):
    other_board = services.create_board(organization=organization, actor=actor, name="Secret ops")
    new_task(board, actor, "Deploy api")
    new_task(other_board, actor, "Deploy vault")
    agent = AgentFactory(organization=organization)
    agent.boards.add(board)
    found = [h.title for h in search_documents(documents_for_agent(agent), "deploy", kinds=[SearchKind.TASK])]
    assert found == ["Deploy api"]


def test_payloads_of_a_deleted_webhook_leave_the_index(
    board, actor, user, django_capture_on_commit_callbacks
):
    webhook, _ = create_webhook(board=board, actor=actor, description="CI", secret="")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_webhook_payload(webhook=webhook, body=b"narwhal", content_type="text/plain")
    assert titles(user, "narwhal", kinds=[SearchKind.PAYLOAD]) == ["CI"]
    delete_webhook(webhook=webhook, actor=actor)
    assert titles(user, "narwhal", kinds=[SearchKind.PAYLOAD]) == []
    drain_log()
    assert not SearchDocument.objects.filter(kind=SearchKind.PAYLOAD).exists()


def test_a_prefix_of_a_word_finds_it_when_nothing_matches_whole_words(board, actor, user):
    new_task(board, actor, "Kubernetes upgrade")
    assert titles(user, "kubern", kinds=[SearchKind.TASK]) == ["Kubernetes upgrade"]


def test_a_misspelled_word_finds_the_title_through_trigrams(board, actor, user):
    """pg_trgm on PostgreSQL; FTS5's trigram tokenizer and the same similarity on SQLite."""
    new_task(board, actor, "Deploy the billing service")
    new_task(board, actor, "Rotate the signing keys")
    assert titles(user, "billnig", kinds=[SearchKind.TASK]) == ["Deploy the billing service"]
    assert titles(user, "zebra", kinds=[SearchKind.TASK]) == []  # shares nothing: still nothing


@requires_sqlite  # the SQLite trigram table (PostgreSQL has pg_trgm, tested above)
def test_the_sqlite_trigram_table_follows_edits_and_deletes(board, actor, user):
    task = new_task(board, actor, "Migrate the warehouse")
    assert titles(user, "warehuose")[0] == "Migrate the warehouse"  # the task above its event
    # Each misspelled word close to a word of the title, in any order.
    assert titles(user, "warehuose migrtae", kinds=[SearchKind.TASK]) == ["Migrate the warehouse"]
    services.update_task(task=task, actor=actor, title="Migrate the ledger")
    assert titles(user, "warehuose", kinds=[SearchKind.TASK]) == []
    assert titles(user, "ledgre", kinds=[SearchKind.TASK]) == ["Migrate the ledger"]
    services.delete_task(task=task, actor=actor)
    assert titles(user, "ledgre", kinds=[SearchKind.TASK]) == []


def test_word_similarity_is_pg_trgms():
    from search.backends import word_similarity

    # pg_trgm: word_similarity('billnig', 'the billing service') = 4 shared of 12 trigrams.
    assert word_similarity("billnig", "the billing service") == pytest.approx(4 / 12)
    assert word_similarity("billing", "Billing!") == 1.0


@requires_postgres
def test_the_vector_is_stored_and_the_gin_indexes_exist_on_postgres(board, actor):
    from django.db import connection

    task = new_task(board, actor, "Deploy api")
    drain_log()
    document = SearchDocument.objects.get(kind=SearchKind.TASK, object_id=task.pk)
    assert "'deploy':1A" in document.vector
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'search_searchdocument'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"searchdoc_vector_gin", "searchdoc_title_trgm"} <= names


def test_the_backend_matches_the_database(board):
    from search.queries import backend_name

    assert backend_name() == ("postgresql" if USING_POSTGRES else "sqlite-fts5")


def test_reindex_rebuilds_documents_of_rows_written_around_the_services(board, user):
    from tests.factories import TaskFactory

    TaskFactory(board=board, title="Imported pelican task")  # a factory: no service, no event
    assert titles(user, "pelican") == []
    from search.services import rebuild_index

    rebuild_index(kinds=[SearchKind.TASK])
    assert titles(user, "pelican") == ["Imported pelican task"]


def test_a_board_of_another_organization_is_not_searched_even_with_the_same_words(
    board, actor, user, outsider, other_organization
):
    other_board = BoardFactory(organization=other_organization, name="Globex")
    services.create_task(board=other_board, actor=Actor.for_user(outsider), title="Deploy globex")
    new_task(board, actor, "Deploy acme")
    assert titles(user, "deploy", kinds=[SearchKind.TASK]) == ["Deploy acme"]
    assert titles(outsider, "deploy", kinds=[SearchKind.TASK]) == ["Deploy globex"]


def test_the_reindex_command_reports_what_it_indexed(board, user, capsys):
    from django.core.management import call_command

    from tests.factories import TaskFactory

    TaskFactory(board=board, title="Imported heron task")
    call_command("search_reindex", "--kind", "task")
    assert "task: 1 indexed" in capsys.readouterr().out
    assert titles(user, "heron") == ["Imported heron task"]


@requires_postgres
def test_postgres_ranks_only_the_most_recent_matches_of_a_very_common_word(board, actor, user, monkeypatch):
    from search import backends

    monkeypatch.setattr(backends, "RANK_CANDIDATES", 2)
    new_task(board, actor, "Otter otter otter")  # the best match, but the oldest of three
    new_task(board, actor, "Clean", description="otter")
    new_task(board, actor, "Sweep", description="otter")
    assert sorted(titles(user, "otter", kinds=[SearchKind.TASK])) == ["Clean", "Sweep"]
    monkeypatch.setattr(backends, "RANK_CANDIDATES", 3)
    assert titles(user, "otter", kinds=[SearchKind.TASK])[0] == "Otter otter otter"


def test_an_object_ranks_above_the_activity_entry_that_names_it(board, actor, user):
    task = new_task(board, actor, "Feed the quokka")
    services.add_comment(task=task, actor=actor, body="quokka fed")
    hits = search_documents(documents_for_user(user), "quokka")
    assert (hits[0].kind, hits[0].object_id) == ("task", task.pk)
    assert {h.kind for h in hits[1:]} == {"activity"}


def test_activity_titles_name_the_actor_once_and_excerpts_show_no_markdown(board, actor, user):
    """The title is the feed sentence ("owner created …", not "owner owner created …"), and a
    Markdown description is shown as its text ("182 ms", not "**182 ms**")."""
    new_task(board, actor, "Tune the wombat cache", description="p95 is now **182 ms** on `prod`")
    hits = search_documents(documents_for_user(user), "wombat")
    activity = [hit for hit in hits if hit.kind == SearchKind.ACTIVITY]
    assert activity, hits
    label = actor.label
    assert activity[0].title.startswith(f"{label} ")
    assert not activity[0].title.startswith(f"{label} {label}")
    task_hit = search_documents(documents_for_user(user), "182", kinds=[SearchKind.TASK])[0]
    assert task_hit.excerpt_html == "p95 is now <mark>182</mark> ms on prod"
