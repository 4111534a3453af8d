"""Store pages, all under /store/<facility code>/: the code is checked against the user's membership."""

from django.urls import include, path

from fulfillment.views import counter, handover, packing, picking, rejection

app_name = "fulfillment"

store_patterns = [
    path("picks/", picking.pick_queue, name="pick-queue"),
    path("picks/scan/", picking.pick_queue_scan, name="pick-queue-scan"),
    path("picks/<int:job_id>/", picking.pick_job_page, name="pick-job"),
    path("picks/<int:job_id>/start/", picking.pick_job_start_view, name="pick-job-start"),
    path("picks/<int:job_id>/pause/", picking.pick_job_pause_view, name="pick-job-pause"),
    path("picks/<int:job_id>/scan/", picking.pick_job_scan_view, name="pick-job-scan"),
    path("picks/<int:job_id>/lines/<int:line_id>/pick/", picking.pick_line_tap_view, name="pick-line-tap"),
    path("picks/<int:job_id>/lines/<int:line_id>/short/", picking.pick_line_short_view, name="pick-line-short"),
    path("picks/<int:job_id>/reassign/", picking.pick_job_reassign_view, name="pick-job-reassign"),
    path("batches/new/", picking.pick_batch_new, name="pick-batch-new"),
    path("batches/<int:batch_id>/", picking.pick_batch_page, name="pick-batch"),
    path("batches/<int:batch_id>/scan/", picking.pick_batch_scan_view, name="pick-batch-scan"),
    path("batches/<int:batch_id>/lines/<int:line_id>/pick/", picking.pick_batch_tap_view, name="pick-batch-tap"),
    path("batches/<int:batch_id>/lines/<int:line_id>/short/", picking.pick_batch_short_view,
         name="pick-batch-short"),
    path("batches/<int:batch_id>/lines/<int:line_id>/reject/", picking.pick_batch_reject_view,
         name="pick-batch-reject"),
    path("batches/<int:batch_id>/sheet.pdf", picking.pick_batch_sheet, name="pick-batch-sheet"),
    path("", include(packing.urlpatterns)),
    path("", include(handover.urlpatterns)),
    path("", include(counter.urlpatterns)),
    path("", include(rejection.store_urlpatterns)),
]

urlpatterns = [path("store/<slug:facility_code>/", include(store_patterns)), *rejection.urlpatterns]
