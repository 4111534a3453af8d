"""View-only admin classes for records that only services write (orders, jobs, logs): the admin shows them,
every change goes through a service so it is logged. Shared by every app's admin."""

from django.contrib import admin


class ViewOnlyMixin:
    """For records that only services write: every change must go through them so it is logged."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    pass


class ViewOnlyInline(ViewOnlyMixin, admin.TabularInline):
    extra = 0
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields
