"""vidqa.media"""
