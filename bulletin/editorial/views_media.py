"""The media library (any editor) and the masthead (admins): pages under /editor."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from bulletin.core import masthead as branding
from bulletin.core import media as library
from bulletin.editorial.access import admin_required
from bulletin.editorial.media_forms import MastheadForm, MediaAltForm, MediaUploadForm
from bulletin.editorial.views import bp
from bulletin.extensions import db
from bulletin.i18n import current_lang
from bulletin.mail.branding import DEFAULT_BACKGROUND, DEFAULT_TEXT, MASTHEAD_ID
from bulletin.mail.links import requested_page
from bulletin.models import Masthead, Media
from bulletin.web import ButtonForm


def _library_page(form: MediaUploadForm, status: int = 200):
    page = db.paginate(library.library(), page=requested_page(), per_page=30, error_out=False)
    uses = {m.id: library.uses_of(m) for m in page.items}
    return render_template("editorial/media.html", form=form, page=page, uses=uses), status


@bp.get("/media")
def media():
    return _library_page(MediaUploadForm(formdata=None))


@bp.post("/media")
def upload_media():
    form = MediaUploadForm()
    if not form.validate_on_submit():
        return _library_page(form, 400)
    upload = form.file.data
    try:
        stream = upload.stream if upload else io.BytesIO(b"")
        data = library.read_capped(stream, int(current_app.config["MEDIA_MAX_BYTES"]))
        added = library.add_media(
            data,
            filename=getattr(upload, "filename", None),
            alt_cy=form.alt_cy.data,
            alt_en=form.alt_en.data,
            editor=current_user._get_current_object(),
        )
    except library.MediaRefused as exc:
        db.session.rollback()
        form.file.errors = [str(exc)]
        return _library_page(form, 400)
    db.session.commit()
    flash(_("Image added to the library."), "success")
    return redirect(url_for("editor.media") + f"#media-{added.id}", code=303)


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error):
    """Over MAX_CONTENT_LENGTH (refused before any view or CSRF check reads the body): an
    upload gets the library page with the size error; other editor pages the error page."""
    if request.endpoint != "editor.upload_media":
        return render_template("errors/error.html", code=413, reason=None), 413
    form = MediaUploadForm(formdata=None)
    limit = min(int(current_app.config["MEDIA_MAX_BYTES"]), request.max_content_length or 0)
    form.file.errors = [str(library.too_large(limit))]
    return _library_page(form, 413)


@bp.route("/media/<int:media_id>", methods=["GET", "POST"])
def edit_media(media_id: int):
    item = db.get_or_404(Media, media_id)
    form = MediaAltForm(obj=item if request.method == "GET" else None)
    if form.validate_on_submit():
        library.update_alt(item, form.alt_cy.data, form.alt_en.data)
        db.session.commit()
        flash(_("Image descriptions saved."), "success")
        return redirect(url_for("editor.media") + f"#media-{item.id}", code=303)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "editorial/media_form.html",
        form=form,
        item=item,
        uses=library.uses_of(item),
        button=ButtonForm(),
    ), status


@bp.post("/media/<int:media_id>/delete")
def delete_media(media_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    item = db.get_or_404(Media, media_id)
    try:
        name = library.delete_media(item)
    except library.MediaRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("editor.edit_media", media_id=media_id), code=303)
    db.session.commit()
    library.discard_file(name)
    flash(_("Image deleted."), "success")
    return redirect(url_for("editor.media"), code=303)


@bp.route("/admin/masthead", methods=["GET", "POST"])
@admin_required
def masthead():
    saved = db.session.get(Masthead, MASTHEAD_ID)
    form = MastheadForm()
    form.fill_choices(current_lang())
    if request.method == "GET":
        form.background_colour.data = saved.background_colour if saved else DEFAULT_BACKGROUND
        form.text_colour.data = saved.text_colour if saved else DEFAULT_TEXT
        form.logo.data = str(saved.logo_id) if saved and saved.logo_id else ""
    if form.validate_on_submit():
        logo = db.session.get(Media, int(form.logo.data)) if form.logo.data else None
        try:
            branding.save_masthead(
                background=form.background_colour.data,
                text=form.text_colour.data,
                logo=logo,
                editor=current_user._get_current_object(),
            )
        except branding.MastheadRefused as exc:
            db.session.rollback()
            form.text_colour.errors = [*form.text_colour.errors, str(exc)]
        else:
            db.session.commit()
            flash(_("Masthead saved."), "success")
            return redirect(url_for("editor.masthead"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/masthead.html", form=form, saved=saved), status
