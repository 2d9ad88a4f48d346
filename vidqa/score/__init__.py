"""vidqa.score"""
