"""Rejection pages: the manager's Reject control, the associate's problem report, the problems list, refusals."""

import pytest
from django.urls import reverse

from fulfillment.models import LineProblem, PickJob
from fulfillment.rejection import line_problem_report
from oms.models import LineRejection, OrderLine
from tests.factories import ProductFactory
from tests.fulfillment.store_world import HTMX, routed_order, stock, store_with_people
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(store):
    facility, _, _ = store
    shirt = ProductFactory(name="Shirt")
    stock(facility, shirt, 5, "A-01")
    _, job = routed_order(facility, [(shirt, 2)])
    return job


def test_managers_see_reject_and_associates_see_report_a_problem(client, store, job):
    facility, associate, manager = store
    client.force_login(manager)
    page = client.get(url("pick-job", facility, job.pk)).content.decode()
    assert "Reject item" in page and 'value="damaged"' in page and "Tell the manager" not in page
    client.force_login(associate)
    page = client.get(url("pick-job", facility, job.pk)).content.decode()
    assert "Tell the manager" in page and "Reject item" not in page


def test_htmx_reject_answers_with_the_updated_job(client, store, job):
    facility, _, manager = store
    client.force_login(manager)
    line = job.lines.get()
    response = client.post(url("pick-line-reject", facility, job.pk, line.pk),
                           {"reason": "damaged", "version": job.version}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="pick-job"' in body and "rejected, sent to another location" in body and "<html" not in body
    assert OrderLine.objects.get(order=job.order).queue == "REJECTED"


def test_associate_reject_is_refused_403_in_the_message_area(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)
    line = job.lines.get()
    response = client.post(url("pick-line-reject", facility, job.pk, line.pk),
                           {"reason": "damaged", "version": job.version}, **HTMX)
    assert response.status_code == 403 and response["HX-Retarget"] == "#store-message"
    assert not LineRejection.objects.exists()


def test_stale_version_is_409(client, store, job):
    facility, _, manager = store
    client.force_login(manager)
    response = client.post(url("pick-line-reject", facility, job.pk, job.lines.get().pk),
                           {"reason": "damaged", "version": job.version + 3}, **HTMX)
    assert response.status_code == 409


def test_another_stores_manager_gets_404(client, store, job):
    facility, _, _ = store
    _, _, other_manager = store_with_people("NYC-02")
    client.force_login(other_manager)
    response = client.post(url("pick-line-reject", facility, job.pk, job.lines.get().pk),
                           {"reason": "damaged", "version": job.version})
    assert response.status_code == 404


def test_associate_reports_a_problem_and_the_manager_sees_it_flagged(client, store, job):
    facility, associate, manager = store
    client.force_login(associate)
    response = client.post(url("pick-line-problem", facility, job.pk, job.lines.get().pk),
                           {"note": "box torn", "version": job.version}, **HTMX)
    assert response.status_code == 200 and "waiting for the manager" in response.content.decode()
    client.force_login(manager)
    page = client.get(url("problems", facility)).content.decode()
    assert "box torn" in page and job.order.name in page


def test_problems_list_is_managers_only(client, store):
    facility, associate, _ = store
    client.force_login(associate)
    assert client.get(url("problems", facility)).status_code == 404


def test_manager_confirms_a_problem_with_a_reason(client, store, job):
    facility, associate, manager = store
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=job.lines.get().pk,
                                  note="wet", version=job.version)
    client.force_login(manager)
    response = client.post(url("problem-confirm", facility, problem.pk), {"reason": "damaged"}, **HTMX)
    assert response.status_code == 200 and "No problem waiting" in response.content.decode()
    assert LineProblem.objects.get().status == "CONFIRMED"
    assert PickJob.objects.get(pk=job.pk).status == "CANCELED"


def test_manager_dismisses_a_problem(client, store, job):
    facility, associate, manager = store
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=job.lines.get().pk,
                                  note="?", version=job.version)
    client.force_login(manager)
    response = client.post(url("problem-dismiss", facility, problem.pk))
    assert response.status_code == 302
    assert LineProblem.objects.get().status == "DISMISSED"


def test_store_home_shows_managers_the_problems_tile(client, store, job):
    facility, associate, manager = store
    line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=job.lines.get().pk,
                        note="?", version=job.version)
    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert url("problems", facility) in page and "Problems reported" in page


@pytest.mark.parametrize("action, data", [("problem-confirm", {"reason": "damaged"}), ("problem-dismiss", {})])
def test_confirm_or_dismiss_over_htmx_answers_with_the_list_alone_not_a_page_inside_the_page(
        client, store, job, action, data):
    facility, associate, manager = store
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=job.lines.get().pk,
                                  note="wet", version=job.version)
    client.force_login(manager)

    part = client.post(url(action, facility, problem.pk), data, **HTMX).content.decode()

    assert part.lstrip().startswith('<section id="problems"')
    assert "<html" not in part and "store-nav" not in part and part.count('id="store-message"') == 1


def test_one_unit_is_one_unit_on_the_problems_list(client, store, job):
    facility, associate, manager = store
    line = job.lines.get()
    line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=line.pk, note="wet",
                        version=job.version)
    type(line).objects.filter(pk=line.pk).update(quantity=1)
    client.force_login(manager)

    page = client.get(url("problems", facility)).content.decode()

    assert "· 1 unit</div>" in page and "1 units" not in page
