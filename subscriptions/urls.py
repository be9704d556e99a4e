from django.urls import path

from . import answer_views, preference_views, reading_views, views

app_name = "subscriptions"

urlpatterns = [
    path("", views.signup, name="signup"),
    path("link/", views.request_link, name="request_link"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/<str:token>/", preference_views.preferences, name="preferences"),
    path("preferences/<str:token>/preview/", preference_views.preview, name="preview"),
    path(
        "preferences/<str:token>/feedback/undo/",
        answer_views.feedback_undo,
        name="feedback_undo",
    ),
    path("preferences/<str:token>/reading/", reading_views.reading, name="reading"),
    path("preferences/<str:token>/papers/", answer_views.suggestions, name="suggestions"),
    path("preferences/<str:token>/papers/answer/", answer_views.answer, name="answer"),
    path("preferences/<str:token>/papers/examples/", answer_views.examples, name="examples"),
    path("preferences/<str:token>/my-data/", preference_views.my_data, name="my_data"),
    path("preferences/<str:token>/delete/", preference_views.delete, name="delete"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("resubscribe/<str:token>/", views.resubscribe, name="resubscribe"),
    # <path:> because the token carries the arXiv id, and old-style ids hold a "/".
    path("feedback/<path:token>/", views.feedback, name="feedback"),
]
